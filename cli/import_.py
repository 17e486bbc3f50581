"""``patterdash import PATH``: Patter call logs or exports into the event log, idempotently."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import orjson
import typer

from patterdash.recordings import store_for
from patterdash.settings import redactor_of
from patterdash.sources.calllog import Malformed
from patterdash.sources.importer import ImportSummary, Item, import_items, scan, scan_bytes

from .common import DbOption, fail, log_session, settings_from
from .progress import progress_bar

__all__ = ["register"]

_SHOWN_ERRORS = 50


def register(app: typer.Typer) -> None:
    """Add the import command to the app."""
    app.command(
        "import",
        epilog=(
            "Examples: patterdash import ~/.local/share/patter   "
            "patterdash import patter_calls.json   patterdash export --format events | patterdash import - --db copy.db"
        ),
    )(import_command)


def _report(summary: ImportSummary, *, as_json: bool) -> None:
    for problem in summary.errors[:_SHOWN_ERRORS]:
        typer.echo(f"skipped {problem.path}: {problem.reason}", err=True)
    if len(summary.errors) > _SHOWN_ERRORS:
        typer.echo(f"... and {len(summary.errors) - _SHOWN_ERRORS} more errors", err=True)
    if as_json:
        typer.echo(orjson.dumps(summary.as_dict()).decode())
        return
    typer.echo(
        f"imported {summary.imported} calls ({summary.events} events), "
        f"skipped {summary.skipped}, errors {len(summary.errors)}"
    )


def _scan(path: Path, *, include_active: bool) -> tuple[int, Iterator[Item]]:
    try:
        if str(path) == "-":
            return scan_bytes(sys.stdin.buffer.read(), label=Path("<stdin>"))
        if not path.exists():
            fail(f"no such file or directory: {path}")
        return scan(path, include_active=include_active)
    except Malformed as e:
        fail(str(e))


def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A Patter call-log directory (YYYY/MM/DD/<call_id>/, maybe under calls/), "
            "a patterdash JSON/NDJSON/events export, a Patter dashboard JSON export, or - for standard input",
            show_default=False,
        ),
    ],
    include_active: Annotated[
        bool, typer.Option("--include-active", help="Also import calls without ended_at (they show as live)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Accept an input that holds no calls (exit 0)")
    ] = False,
    db: DbOption = None,
) -> None:
    """Import calls; a second run appends nothing; malformed files are reported and skipped.

    Works while a server runs on the same log: it shows the calls within a second.
    """
    total, items = _scan(path, include_active=include_active)
    if total == 0 and not allow_empty:
        fail(f"{'standard input' if str(path) == '-' else path} holds no calls (pass --allow-empty to accept that)")
    settings = settings_from(db=db)
    redactor = redactor_of(settings)  # PATTERDASH_REDACT_* apply to imports too
    failing = "import stopped (calls already committed stay; re-run to finish, nothing is duplicated)"
    with (
        log_session(db, create=True, failing=failing) as log,
        progress_bar(f"importing {path.name}", total=lambda: total) as advance,
    ):
        summary = import_items(
            items,
            log,
            advance=advance,
            redact=redactor.event if redactor.active else None,
            recordings=store_for(settings),  # a call log's recording_path, kept beside the log
        )
    _report(summary, as_json=as_json)
    if summary.errors and not (summary.imported or summary.skipped):
        raise typer.Exit(1)
