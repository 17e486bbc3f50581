"""``patterdash forget``: erase every trace of calls on request (by call id or phone number)."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated

import typer

from patterdash.recordings import RecordingStore, recordings_dir
from patterdash.store import LogError
from patterdash_cli.common import DbOption, fail, open_log, settings_from

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
    settings = settings_from(db=db)
    root = recordings_dir(settings)
    recordings = RecordingStore(root, max_bytes=0) if root is not None else None
    log = open_log(db)
    try:
        ids = [c for c in dict.fromkeys(call_id or []) if log.call_summary(c) is not None]
        for one in number or []:
            ids += [c for c in log.calls_with_number(one) if c not in ids]
        if not ids:
            fail("no call matches (nothing erased)")
        digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:32]
        event = {
            "id": f"purged:{digest}",
            "type": "calls_purged",
            "call_id": "*",
            "ts": time.time(),
            "data": {"call_ids": sorted(ids), "reason": "erasure request"},
        }
        # the event first: servers drop the calls from memory as they see it; a crash before the
        # purge leaves the calls in the log, and running forget again finishes (same event id)
        log.append([[event]], known_seq=log.max_seq())
        removed = log.purge_calls(ids)
        files = [f for c in ids for f in (recordings.files_of(c) if recordings else [])]
        for f in files:
            f.unlink(missing_ok=True)
    except (LogError, OSError) as e:
        fail(str(e))
    finally:
        log.close()
    typer.echo(f"erased {len(ids)} call(s): {', '.join(sorted(ids))}")
    typer.echo(
        f"removed {removed['events']} event(s), {removed['calls']} call summary row(s) and {len(files)} recording(s)"
    )
    if removed.get("wal_truncated") == 0:
        typer.echo("note: a reader kept the WAL from being truncated now; SQLite truncates it at its next checkpoint")
