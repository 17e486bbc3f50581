"""``patterdash copy SRC DST``: a log from one store to another (SQLite, PostgreSQL, events NDJSON)."""

from __future__ import annotations

from typing import Annotated

import typer

from patterdash.store import LogError, redact_url
from patterdash.store.copying import copy_log, count_pages
from patterdash_cli.common import fail
from patterdash_cli.progress import progress_bar

__all__ = ["register"]

_WHERE = "a SQLite file (or sqlite:///path), a postgresql:// URL, or an events .ndjson file"


def register(app: typer.Typer) -> None:
    """Add the copy command to the app."""
    app.command(
        "copy",
        epilog="Example: patterdash copy patterdash.db postgresql://patterdash@db.internal/patterdash "
        "(--db is not used: both ends are given)",
    )(copy_command)


def copy_command(
    src: Annotated[str, typer.Argument(metavar="SRC", help=f"The log to read: {_WHERE}", show_default=False)],
    dst: Annotated[str, typer.Argument(metavar="DST", help=f"Where to append it: {_WHERE}", show_default=False)],
) -> None:
    """Copy every event (ids, times, order) and token; a re-run appends nothing; ends with a count+checksum check."""
    try:
        with progress_bar(f"copying {redact_url(src)} (pages)", total=lambda: count_pages(src)) as advance:
            report = copy_log(src, dst, advance=advance)
    except LogError as e:
        fail(str(e))
    typer.echo(
        f"copied {report.events} events ({report.appended} new, {report.events - report.appended} already there)"
        f" and {report.tokens} tokens to {redact_url(dst)}",
        err=True,
    )
    if not report.matches:
        fail(
            f"check failed: source {report.events} events, checksum {report.source_checksum};"
            f" destination {report.dest_events}, checksum {report.dest_checksum}"
        )
    typer.echo(f"check: both sides {report.events} events, checksum {report.source_checksum}", err=True)
