"""``export --format events | import -`` rebuilds an identical log: same ids, same times, same projection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from patterdash.sources.demo import demo_events
from patterdash.store.sqlite import EventLog
from patterdash_cli.main import app
from tests.cli_helpers import append_events, invoke, one_line_error
from tests.factories import event
from tests.reliability_helpers import full_fold

T0 = 1_780_000_000.0


def _demo_log(db: Path) -> None:
    """A demo day: finished calls, calls still live, one deletion in between."""
    events = list(demo_events(seed=11, start=T0, calls=12, history=8, speed=1.0))
    finished = sorted({e["call_id"] for e in events if e["type"] == "call_end"})
    cut = len(events) * 2 // 3
    deletion = event("calls_deleted", "*", {"call_ids": finished[:2]}, ts=events[cut]["ts"])
    append_events(db, [*events[:cut], deletion])
    append_events(db, events[cut:-5])  # the last few never arrive: those calls stay live


def _events(db: Path) -> list[tuple[Any, ...]]:
    log = EventLog(db, create=False)
    try:
        return [(e.id, e.type, e.call_id, e.ts, e.data) for e in log.read_after(0)]
    finally:
        log.close()


def test_an_events_export_imports_into_an_identical_log(tmp_path: Path) -> None:
    source, copy = tmp_path / "source.db", tmp_path / "copy.db"
    _demo_log(source)
    dump = invoke("export", "--format", "events", "--db", source)
    assert dump.exit_code == 0, dump.stderr
    loaded = CliRunner().invoke(app, ["import", "-", "--db", str(copy)], input=dump.stdout_bytes)
    assert loaded.exit_code == 0, loaded.stderr
    assert _events(copy) == _events(source)
    assert full_fold(copy) == full_fold(source)
    again = CliRunner().invoke(app, ["import", "-", "--db", str(copy), "--json"], input=dump.stdout_bytes)
    assert '"events":0' in again.stdout  # idempotent: the ids are the log's


def test_events_format_refuses_call_filters(tmp_path: Path) -> None:
    _demo_log(tmp_path / "s.db")
    result = invoke("export", "--format", "events", "--status", "completed", "--db", tmp_path / "s.db")
    assert result.exit_code == 1 and "whole log" in one_line_error(result)
