"""``patterdash export``: every completed call in the log, streamed in constant memory."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from patterdash.core.query import CallFilter
from patterdash.export import Format as CallFormat
from patterdash.export import event_chunks, export_chunks, log_records, parse_when

from .common import DbOption, fail, log_session
from .progress import progress_bar

__all__ = ["register"]


class Format(enum.StrEnum):
    """Export file formats."""

    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    events = "events"  # the raw log, one event per line: `import -` rebuilds an identical log


class Per(enum.StrEnum):
    """One row per call or per turn."""

    call = "call"
    turn = "turn"


_CALL_FORMATS: dict[Format, CallFormat] = {Format.csv: "csv", Format.json: "json", Format.ndjson: "ndjson"}


def register(app: typer.Typer) -> None:
    """Add the export command to the app."""
    app.command(
        "export",
        epilog=(
            "Example: patterdash export --format csv --from 2026-01-01 --to 2026-02-01 "
            "--status completed --output january.csv"
        ),
    )(export_command)


def _when(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        fail(f"--{name}: {e}")


def export_command(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="File format")] = Format.csv,
    from_: Annotated[
        str | None, typer.Option("--from", help="Calls started at or after (ISO; a date alone is UTC midnight)")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Calls started at or before (ISO, UTC by default)")] = None,
    status: Annotated[str | None, typer.Option(help="Only calls with this status (completed, busy...)")] = None,
    per: Annotated[Per, typer.Option(help="One row per call, or per turn with every latency field")] = Per.call,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")] = None,
    db: DbOption = None,
) -> None:
    """Export every completed call in the log (not only the ring), whether or not a server runs.

    ``--format events`` writes the whole log instead, event by event (a backup, or a move to another log).
    """
    from_ts, to_ts = _when(from_, "from"), _when(to, "to")
    if fmt == Format.events and (from_ts is not None or to_ts is not None or status or per != Per.call):
        fail("--format events exports the whole log: --from, --to, --status and --per apply to calls only")
    with log_session(db) as log, progress_bar("exporting calls", total=log.completed_count) as advance:
        if fmt == Format.events:
            chunks = event_chunks(log)
        else:
            only = CallFilter(status=status, from_ts=from_ts, to_ts=to_ts)
            records = log_records(log, only=only, on_call=advance)
            chunks = export_chunks(records, fmt=_CALL_FORMATS[fmt], per=per.value)
        if output is None:
            _to_stdout(chunks)
        else:
            _to_file(chunks, output)


def _write(chunks: Iterator[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def _to_stdout(chunks: Iterator[bytes]) -> None:
    try:
        _write(chunks, sys.stdout.buffer)
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, like any Unix filter
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def _to_file(chunks: Iterator[bytes], output: Path) -> None:
    """Write beside the target, then rename: a failed export never leaves half a file."""
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as out:
            _write(chunks, out)
        partial.replace(output)
    except OSError as e:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {output}: {e.strerror or e}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
