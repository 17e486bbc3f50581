"""The SQLite event log: ordering, idempotency, atomic batches, other writers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import validate_event
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store.sqlite import EventLog
from tests.factories import full_call, metrics


def _valid(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [validate_event(e, now=1.0) for e in raw]


@pytest.fixture
def fresh_log(db_path: Path) -> EventLog:
    return EventLog(db_path)


def test_log_is_in_wal_mode_with_strictly_increasing_seqs(fresh_log: EventLog) -> None:
    out = fresh_log.append([_valid(full_call("a")), _valid(full_call("b"))], known_seq=0)
    assert out.seqs == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
    assert [e.seq for e in fresh_log.read_after(0)] == list(range(1, 13))
    mode = sqlite3.connect(fresh_log.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_resending_an_id_appends_nothing_and_answers_the_first_seq(fresh_log: EventLog) -> None:
    events = _valid(full_call("a"))
    first = fresh_log.append([events], known_seq=0)
    again = fresh_log.append([events], known_seq=6)
    assert again.seqs == first.seqs and again.events == [] and again.duplicates == 6
    assert fresh_log.max_seq() == 6


def test_an_id_repeated_inside_one_batch_is_stored_once(fresh_log: EventLog) -> None:
    one = validate_event({"id": "same", "type": "call_start", "call_id": "a"}, now=1.0)
    out = fresh_log.append([[one, one]], known_seq=0)
    assert out.seqs == [[1, 1]] and fresh_log.max_seq() == 1


def test_summary_marks_completion_at_the_first_terminal_event(fresh_log: EventLog) -> None:
    raw = [
        {"type": "call_start", "call_id": "a"},
        {"type": "call_status", "call_id": "a", "data": {"status": "busy"}},
        {"type": "call_end", "call_id": "a", "data": {"metrics": metrics("a")}},
    ]
    fresh_log.append([_valid(raw)], known_seq=0)
    summary = fresh_log.call_summary("a")
    assert summary is not None and summary["completed_seq"] == 2 and summary["first_seq"] == 1


def test_rows_written_by_another_process_are_returned_to_the_next_appender(db_path: Path) -> None:
    mine, theirs = EventLog(db_path), EventLog(db_path)
    mine.append([_valid(full_call("a"))], known_seq=0)
    theirs.append([_valid(full_call("b"))], known_seq=6)
    out = mine.append([_valid([{"type": "call_start", "call_id": "c"}])], known_seq=6)
    assert [e.call_id for e in out.events] == ["b"] * 6 + ["c"]


def test_rebuild_selection_reads_only_active_and_newest_completed(fresh_log: EventLog) -> None:
    for i in range(5):
        fresh_log.append([_valid(full_call(f"done{i}"))], known_seq=fresh_log.max_seq())
    fresh_log.append([_valid([{"type": "call_start", "call_id": "live"}])], known_seq=fresh_log.max_seq())
    active, ring = fresh_log.rebuild_selection(2)
    assert active == ["live"] and ring == ["done4", "done3"]


async def test_server_projects_rows_appended_by_another_process_within_one_second(db_path: Path) -> None:
    service = Service(Settings(_env_file=None, db=db_path))  # type: ignore[call-arg]
    await service.start()
    try:
        other = EventLog(db_path)
        other.append([_valid(full_call("from-cli"))], known_seq=0)
        async with asyncio.timeout(1.0):
            while "from-cli" not in service.projection.ring:
                await asyncio.sleep(0.02)
        assert service.bus.head == 6  # published to SSE subscribers too
    finally:
        await service.stop()


async def test_concurrent_appends_share_transactions(db_path: Path) -> None:
    service = Service(Settings(_env_file=None, db=db_path))  # type: ignore[call-arg]
    await service.start()
    try:
        batches = [_valid([{"type": "call_start", "call_id": f"c{i}"}]) for i in range(200)]
        results = await asyncio.gather(*(service.append(b) for b in batches))
        assert sorted(s for (s,) in results) == list(range(1, 201))
        assert service.stats.commits < 200  # group commit: many requests per transaction
    finally:
        await service.stop()


async def test_stale_calls_are_closed_with_an_appended_lost_event(db_path: Path) -> None:
    now = [1000.0]
    config = Settings(_env_file=None, db=db_path, stale_after=60)  # type: ignore[call-arg]
    service = Service(config, clock=lambda: now[0])
    await service.start()
    try:
        await service.append(
            _valid(
                [
                    {"type": "call_start", "call_id": "quiet", "ts": 1000.0},
                    {"type": "call_start", "call_id": "chatty", "ts": 1050.0},
                ]
            )
        )
        now[0] = 1070.0
        assert await service.close_stale_calls() == ["quiet"]
        assert service.projection.ring["quiet"].record["status"] == "lost"
        assert "chatty" in service.projection.active
        assert await service.close_stale_calls() == []  # not closed twice
    finally:
        await service.stop()


def test_calls_deleted_events_are_never_part_of_a_calls_history(fresh_log: EventLog) -> None:

    fresh_log.append([_valid(full_call("b"))], known_seq=0)
    # an old producer's deletion carrying a real call id (validation now forces "*")
    legacy = {"id": "legacy-del", "type": "calls_deleted", "call_id": "b", "ts": 2.0, "data": {"call_ids": ["x"]}}
    fresh_log.append([[legacy]], known_seq=6)
    assert [e.type for e in fresh_log.events_for_calls(["b"])].count("calls_deleted") == 0
    assert (
        validate_event({"type": "calls_deleted", "call_id": "b", "data": {"call_ids": ["x"]}}, now=1)["call_id"] == "*"
    )


async def test_a_large_append_by_another_process_is_picked_up_in_chunks(db_path: Path) -> None:
    service = Service(Settings(_env_file=None, db=db_path))  # type: ignore[call-arg]
    await service.start()
    try:
        other = EventLog(db_path)
        batch = [e for i in range(1000) for e in _valid(full_call(f"imp{i}"))]  # 6,000 events, 3 chunks
        other.append([batch], known_seq=0)
        async with asyncio.timeout(5.0):
            while service.projection.last_seq < 6000:
                await asyncio.sleep(0.02)
        assert len(service.projection.ring) == 500 and service.bus.head == 6000
    finally:
        await service.stop()


async def test_a_call_that_talked_then_fell_silent_is_lost_after_the_silence_limit(db_path: Path) -> None:
    now = [1000.0]
    config = Settings(_env_file=None, db=db_path, stale_after=7200, stale_after_silence=600)  # type: ignore[call-arg]
    service = Service(config, clock=lambda: now[0])
    await service.start()
    try:
        line = {"role": "user", "text": "hello?"}
        await service.append(
            _valid(
                [
                    {"type": "call_start", "call_id": "talked", "ts": 1000.0},
                    {"type": "transcript_line", "call_id": "talked", "ts": 1001.0, "data": line},
                    {"type": "call_start", "call_id": "start-only", "ts": 1000.0},
                ]
            )
        )
        now[0] = 1500.0
        assert await service.close_stale_calls() == []  # 499 s of silence: still within the limit
        now[0] = 1700.0
        assert await service.close_stale_calls() == ["talked"]  # a Patter start/end-only call keeps the age rule
        assert service.projection.ring["talked"].record["status"] == "lost"
        now[0] = 8300.0
        assert await service.close_stale_calls() == ["start-only"]
    finally:
        await service.stop()
