"""``patterdash forget``: erase every trace of calls on request (by call id or phone number)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from patterdash.ops.retention import purge_calls_now, recording_store
from patterdash.store import LogError

from .common import DbOption, fail, open_log, settings_from

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the forget command to the app."""
    app.command(
        "forget",
        epilog="Example: patterdash forget --number +14155550123   (or --call-id CA123, repeatable)",
    )(forget_command)


def forget_command(
    call_id: Annotated[list[str] | None, typer.Option("--call-id", help="A call to erase; repeatable")] = None,
    number: Annotated[
        list[str] | None, typer.Option("--number", help="Erase every call from or to this number, as stored")
    ] = None,
    db: DbOption = None,
) -> None:
    """Erase matching calls for good: events, summaries, recordings; a running server drops them within a second.

    A ``calls_purged`` event naming only the call ids is appended. Unlike a delete (hide,
    reversible by an admin), this cannot be undone.
    """
    if not call_id and not number:
        fail("say what to forget: --call-id ID or --number NUMBER")
    recordings = recording_store(settings_from(db=db))
    log = open_log(db)
    try:
        ids = [c for c in dict.fromkeys(call_id or []) if log.call_summary(c) is not None]
        for one in number or []:
            ids += [c for c in log.calls_with_number(one) if c not in ids]
        if not ids:
            fail("no call matches (nothing erased)")
        removed = purge_calls_now(log, ids, reason="erasure request", now=time.time(), recordings=recordings)
    except (LogError, OSError) as e:
        fail(str(e))
    finally:
        log.close()
    typer.echo(f"erased {len(ids)} call(s): {', '.join(sorted(ids))}")
    typer.echo(
        f"removed {removed['events']} event(s), {removed['calls']} call summary row(s)"
        f" and {removed['recordings']} recording(s)"
    )
    if removed.get("wal_truncated") == 0:
        typer.echo("note: a reader kept the WAL from being truncated now; SQLite truncates it at its next checkpoint")
