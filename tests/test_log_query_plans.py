"""The log's hot reads and its append go through an index: none scans a whole table as the log grows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import validate_event
from patterdash.store.sqlite import EventLog
from tests.factories import event, full_call


@pytest.fixture
def log_with_calls(db_path: Path) -> EventLog:
    log = EventLog(db_path)
    for n in range(6):
        events = full_call(f"c{n}", ts=1_700_000_000.0 + 60 * n)
        log.append([[validate_event(e, now=1.0) for e in events[: -1 if n == 5 else None]]], known_seq=log.max_seq())
    return log


def _plans(conn: sqlite3.Connection, run: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """Each statement ``run`` executes, with SQLite's query plan for it."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return [(sql, [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]) for sql in statements]


READS: dict[str, Callable[[EventLog], Any]] = {
    "append": lambda log: log.append(
        [[validate_event(event("transcript_line", "c5", {"role": "user", "text": "hi"}), now=1.0)]],
        known_seq=log.max_seq(),
    ),
    "start-up": lambda log: log.rebuild_selection(500),
    "per-call": lambda log: (log.call_summary("c1"), log.events_for_calls(["c1"])),
    "sse-resume": lambda log: log.read_after(3, limit=100),
    "export": lambda log: (log.completed_count(), list(log.iter_completed_calls())),
    "paging": lambda log: log.completed_before(10**6, count=10),
}


@pytest.mark.parametrize("read", READS)
def test_a_hot_read_scans_no_table(log_with_calls: EventLog, read: str) -> None:
    for sql, plan in _plans(log_with_calls.db.conn, lambda: READS[read](log_with_calls)):
        scans = [s for s in plan if s.startswith("SCAN") and "subquery" not in s and s != "SCAN CONSTANT ROW"]
        assert scans == [], (sql, plan)
    log_with_calls.close()
