"""What one commit writes: the WAL pages of single-event appends, per b-tree (issue 16, cheaper commits)."""

from __future__ import annotations

import collections
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import validate_event
from patterdash.store.sqlite import EventLog
from tests.factories import event, metrics


def _wal_frames(path: Path) -> int:
    wal = Path(f"{path}-wal")
    if not wal.exists() or wal.stat().st_size < 32:
        return 0
    with wal.open("rb") as f:
        page_size = struct.unpack(">I", f.read(32)[8:12])[0]
    return (wal.stat().st_size - 32) // (24 + page_size)


def _pages_written(path: Path, since: int) -> list[int]:
    """Page numbers of the WAL frames after frame ``since`` (one frame per page a commit wrote)."""
    out = []
    with Path(f"{path}-wal").open("rb") as f:
        page_size = struct.unpack(">I", f.read(32)[8:12])[0]
        f.seek(32 + since * (24 + page_size))
        while len(head := f.read(24)) == 24:
            out.append(struct.unpack(">I", head[:4])[0])
            f.seek(page_size, 1)
    return out


def _btrees(path: Path, pages: list[int]) -> collections.Counter[str]:
    """Which table or index owns each page (SQLite's dbstat table), counted."""
    conn = sqlite3.connect(path)
    try:
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat"))
    finally:
        conn.close()
    return collections.Counter(owner.get(p, "(page map)") for p in pages)


def _append_one(log: EventLog, raw: dict[str, Any]) -> collections.Counter[str]:
    since = _wal_frames(log.path)
    log.append([[validate_event(raw, now=1.0)]], known_seq=log.max_seq())
    return _btrees(log.path, _pages_written(log.path, since))


@pytest.fixture
def open_call(db_path: Path) -> EventLog:
    log = EventLog(db_path)
    log.db.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep every frame in the WAL to count it
    log.append([[validate_event(event("call_start", "a"), now=1.0)]], known_seq=0)
    return log


def test_an_event_that_does_not_complete_its_call_leaves_the_completion_index_alone(open_call: EventLog) -> None:
    for i in range(20):
        line = event("transcript_line", "a", {"role": "user", "text": f"line {i}"})
        written = _append_one(open_call, line)
        assert "idx_calls_deleted_completed_seq" not in written, written
        assert written["calls"] == 1  # the summary row itself: its last_seq moved
    ended = _append_one(open_call, event("call_end", "a", {"metrics": metrics("a")}))
    assert ended["idx_calls_deleted_completed_seq"] == 1
    open_call.close()


def test_a_single_event_commit_reads_the_log_once(open_call: EventLog) -> None:
    statements: list[str] = []
    line = validate_event(event("transcript_line", "a", {"role": "user", "text": "hi"}), now=1.0)
    known = open_call.max_seq()
    open_call.db.conn.set_trace_callback(statements.append)
    outcome = open_call.append([[line]], known_seq=known)
    open_call.db.conn.set_trace_callback(None)
    # BEGIN, one lookup (head seq, re-used ids, completion), the row, its call's summary, COMMIT
    assert [s.split()[0] for s in statements] == ["BEGIN", "SELECT", "INSERT", "INSERT", "COMMIT"], statements
    assert outcome.completed == {"a": None} and outcome.seqs == [[2]]
    open_call.close()
