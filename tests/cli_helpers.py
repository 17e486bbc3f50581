"""Helpers for the CLI tests: invoke the Typer app in-process, fill real log files fast."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from patterdash.core.events import validate_event
from patterdash.store.sqlite import EventLog
from patterdash_cli.main import app
from tests.factories import event, full_call


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run ``patterdash ARGS`` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def append_events(db: Path, events: Iterable[dict[str, Any]], *, validate: bool = True) -> int:
    """Append native events straight to a log file (as a CLI import would); returns the last seq."""
    now = time.time()
    rows = [validate_event(ev, now=now) if validate else ev for ev in events]
    log = EventLog(db)
    try:
        log.append([rows], known_seq=log.max_seq())
        return log.max_seq()
    finally:
        log.close()


def one_line_error(result: Result) -> str:
    """The single stderr line of a user error (asserts there is no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def sample_log(db: Path) -> None:
    """Three completed calls on three days, one active call, one deleted call."""
    day = 86_400.0
    base = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    events = [*full_call("c-jan1", ts=base + 3600), *full_call("c-jan2", ts=base + day + 3600)]
    events += full_call("c-jan3", ts=base + 2 * day + 3600)
    events += full_call("c-gone", ts=base + 3 * day)
    events.append(event("calls_deleted", "*", {"call_ids": ["c-gone"]}, ts=base + 4 * day))
    events.append(event("call_start", "c-live", {"caller": "+15550003333"}, ts=base + 4 * day))
    events.append(event("call_status", "c-jan2", {"status": "busy"}, ts=base + day + 3610))
    append_events(db, events)
