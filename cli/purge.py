"""``patterdash purge --before DATE``: retention once, by hand."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from patterdash.export import parse_when
from patterdash.ops.retention import purge_before, recording_store
from patterdash.store import LogError, sqlite_path
from patterdash_cli.common import DbOption, fail, open_log, settings_from

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the purge command to the app."""
    app.command("purge", epilog="Example: patterdash purge --before 2026-01-01")(purge_command)


def _size(db: str) -> int | None:
    """Bytes of a SQLite log with its WAL and shared-memory files (None for another backend)."""
    path = sqlite_path(db)
    if path is None:
        return None
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(p.stat().st_size for p in files if p.is_file())


def purge_command(
    before: Annotated[
        str, typer.Option("--before", help="Purge calls that ended before this (ISO; a date alone is UTC midnight)")
    ],
    compact: Annotated[
        bool, typer.Option(help="Give the space back afterwards (SQLite VACUUM: the file shrinks)")
    ] = True,
    db: DbOption = None,
) -> None:
    """Erase every call that ended before DATE for good (events, summaries, history, recordings); irreversible.

    The same purge ``--retain-days`` runs in the server; a running server drops the calls within a second.
    """
    try:
        cutoff = parse_when(before)
    except ValueError as e:
        fail(f"--before {before}: {e}")
    settings = settings_from(db=db)
    size_before = _size(settings.db)
    log = open_log(db)
    try:
        calls, events = purge_before(
            log, before=cutoff, now=time.time(), reason=f"purge --before {before}", recordings=recording_store(settings)
        )
        if compact and calls:
            log.compact()
    except LogError as e:
        fail(f"{e} (calls purged so far stay purged; run it again to finish)")
    finally:
        log.close()
    typer.echo(f"purged {calls} call(s), {events} event(s)")
    size_after = _size(settings.db)
    if size_before is not None and size_after is not None:
        typer.echo(f"log files: {size_before / 1048576:.1f} MiB -> {size_after / 1048576:.1f} MiB")
