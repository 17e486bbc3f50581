"""Rollups kept in the append's transaction equal a fresh rebuild from the log, and the log's calls."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patterdash.core.events import validate_event
from patterdash.core.rollups import GRAINS, SUM_FIELDS, Deltas, bin_value, cover, fact_of, latency_bin
from patterdash.export import log_records
from patterdash.store import Store, open_store
from tests.cli_helpers import invoke, one_line_error
from tests.factories import event, metrics, turn

CALLS = ["a", "b", "c", "d", "e"]
TYPES = ["call_initiated", "call_start", "call_status", "transcript_line", "turn_complete", "call_end", "calls_deleted"]
STATUSES = ["ringing", "completed", "busy", "no-answer", "lost", "failed", "in-progress"]


def _data(type_: str, call_id: str, n: int, ids: list[str]) -> dict[str, Any]:
    if type_ in ("call_initiated", "call_start"):
        return {"caller": f"+1555000{n % 10}", "callee": "+15559999", "direction": ["inbound", "outbound"][n % 2]}
    if type_ == "call_status":
        return {"status": STATUSES[n % len(STATUSES)]}
    if type_ == "transcript_line":
        return {"turnIndex": n % 3, "role": ["user", "assistant"][n % 2], "text": f"line {n}"}
    if type_ == "turn_complete":
        return {"turn": turn(n % 3, total=5.0 + n * 37.0)}
    if type_ == "call_end":
        data: dict[str, Any] = {"metrics": metrics(call_id, cost=0.01 * (n % 7), duration=float(n % 50), turns=n % 4)}
        if n % 3 == 0:
            data["started_at"] = 1_700_000_000.0 + n * 977  # a call sent whole names its own start
        return data
    return {"call_ids": ids}


event_spec = st.tuples(
    st.sampled_from(TYPES), st.sampled_from(CALLS), st.integers(0, 400), st.lists(st.sampled_from(CALLS), max_size=3)
)
# several commits, each of one or more batches (a group commit)
plans = st.lists(st.lists(st.lists(event_spec, min_size=1, max_size=5), min_size=1, max_size=3), max_size=10)


def _tables(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        sums = " OR ".join(f"{f} != 0" for f in SUM_FIELDS)
        return {
            "facts": conn.execute("SELECT * FROM call_facts ORDER BY call_id").fetchall(),
            "rollups": conn.execute(f"SELECT * FROM rollups WHERE {sums} ORDER BY 1, 2, 3, 4").fetchall(),
            "hist": conn.execute("SELECT * FROM rollup_hist WHERE turns != 0 ORDER BY 1, 2, 3, 4, 5").fetchall(),
        }
    finally:
        conn.close()


def _append(log: Store, plan: list[list[list[tuple[str, str, int, list[str]]]]]) -> None:
    serial = 0
    for commit in plan:
        batches = []
        for batch in commit:
            events = []
            for t, c, n, ids in batch:
                serial += 1
                # times spread over days so minute, hour and day rows all differ
                raw = {"type": t, "call_id": c, "data": _data(t, c, n, ids), "ts": 1_700_000_000.0 + n * 1_013}
                events.append(validate_event({**raw, "id": f"e{serial}"}, now=0))
            batches.append(events)
        log.append(batches, known_seq=log.max_seq())


def _expected_from_log(log: Store) -> dict[tuple[int, int, str, str], list[int]]:
    """The day rows computed the slow way: every completed, not deleted call the export reads."""
    deltas = Deltas()
    for record in log_records(log):
        deltas.add(fact_of(record), +1, grains=(86400,))
    return deltas.nonzero().rows


@example(
    plan=[
        [[("call_status", "a", 2, []), ("call_end", "a", 4, [])]],  # terminal status, then call_end patches it
        [[("calls_deleted", "*", 0, ["a", "b"])], [("call_end", "b", 6, [])]],  # deleted before completing: kept
        [[("call_status", "a", 1, [])]],  # a patch to a deleted call changes nothing
    ]
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans)
def test_incremental_rollups_equal_a_fresh_rebuild(plan: list[list[list[tuple[str, str, int, list[str]]]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        log = open_store(path)
        try:
            _append(log, plan)
            incremental = _tables(path)
            day_rows = {tuple(r[:4]): list(r[4:]) for r in incremental["rollups"] if r[0] == 86400}
            assert day_rows == _expected_from_log(log)
            log.rebuild_rollups()
            assert _tables(path) == incremental
        finally:
            log.close()


def test_a_log_without_rollups_gets_them_from_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = open_store(path)
    _append(log, [[[("call_start", "a", 1, []), ("call_end", "a", 5, []), ("call_end", "b", 9, [])]]])
    log.close()
    before = _tables(path)
    conn = sqlite3.connect(path)  # as written by schema v1: no rollup tables
    conn.executescript(
        "DROP TABLE call_facts; DROP TABLE rollups; DROP TABLE rollup_hist;"
        " UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    conn.close()
    log = open_store(path)
    assert (log.migrated_from, log.schema_version()) == (1, 2)
    log.close()
    assert _tables(path) == before and len(before["facts"]) == 2


@pytest.mark.parametrize("ms", [0.0, 9.99, 10.0, 11.0, 123.4, 950.0, 4_000.0, 10**7])
def test_a_latency_bin_stands_for_its_values_within_five_percent(ms: float) -> None:
    value = bin_value(latency_bin(ms))
    if 10.0 <= ms < 70_000:
        assert abs(value - ms) / ms <= 0.05
    assert latency_bin(value) == latency_bin(ms) or ms >= 70_000


def test_cover_reads_the_coarsest_rows_that_fit_exactly() -> None:
    day, six, hour = 86400, 21600, 3600
    lo, hi = 2 * day - 8 * hour + 300, 5 * day + 7 * hour + 120
    assert cover(lo, hi, GRAINS) == [
        (60, lo, 2 * day - 7 * hour),
        (hour, 2 * day - 7 * hour, 2 * day - six),
        (six, 2 * day - six, 2 * day),
        (day, 2 * day, 5 * day),
        (six, 5 * day, 5 * day + six),
        (hour, 5 * day + six, 5 * day + 7 * hour),
        (60, 5 * day + 7 * hour, hi),
    ]
    hours = [(60, lo, 2 * day - 7 * hour), (hour, 2 * day - 7 * hour, 5 * day + 7 * hour), (60, 5 * day + 7 * hour, hi)]
    assert cover(lo, hi, (60, hour)) == hours


def test_rollups_rebuild_command_restores_damaged_rollups(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = open_store(path)
    _append(log, [[[("call_start", "a", 1, []), ("call_end", "a", 5, []), ("call_end", "b", 9, [])]]])
    log.close()
    good = _tables(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE rollups SET calls = calls + 7")
    conn.execute("DELETE FROM call_facts")
    conn.commit()
    conn.close()
    result = invoke("rollups", "rebuild", "--db", path)
    assert result.exit_code == 0, result.stderr
    assert "rollups rebuilt from 2 calls" in result.stderr
    assert _tables(path) == good


def test_rollups_rebuild_of_a_missing_log_is_one_line(tmp_path: Path) -> None:
    result = invoke("rollups", "rebuild", "--db", tmp_path / "nope.db")
    assert result.exit_code == 1
    assert "no event log" in one_line_error(result)


def test_a_call_end_is_counted_without_reading_back_itself_or_the_turns_its_metrics_replace(
    tmp_path: Path,
) -> None:
    from patterdash.core.events import LoggedEvent
    from patterdash.core.projection import fold_call
    from patterdash.store.sqlite import EventLog, _select_events
    from patterdash.store.sqlite_rollups import SqliteRollups
    from tests.factories import full_call

    read: list[LoggedEvent] = []

    def select(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[LoggedEvent]:
        found = _select_events(conn, where, params)  # the log's own read, recorded
        read.extend(found)
        return found

    log = EventLog(tmp_path / "log.db")
    log._rollups = SqliteRollups(log._insert_rows, select)
    for call_id, end in (("a", {"metrics": metrics("a", turns=3)}), ("b", {"status": "completed"})):
        log.append([[validate_event(e, now=1.0) for e in full_call(call_id)[:-1]]], known_seq=log.max_seq())
        read.clear()
        log.append([[validate_event(event("call_end", call_id, end), now=1.0)]], known_seq=log.max_seq())
        record = fold_call(log.events_for_calls([call_id]))  # the whole call, as an export folds it
        assert record is not None and fact_of(record) in log.call_facts(-1e12, 1e12)
        # a's metrics carry its turns (the fold prefers them): only its start is read; b needs its live turn
        assert [e.type for e in read] == {"a": ["call_start"], "b": ["call_start", "turn_complete"]}[call_id]
    log.close()


@pytest.mark.parametrize(
    ("ends", "settled"),
    [
        ([], False),  # no call_end yet: the live turns are the call's turns
        ([{"metrics": metrics("a", turns=2)}], True),
        ([{"metrics": metrics("a", turns=0)}], False),  # empty metrics turns: the fold keeps the live ones
        ([{"metrics": metrics("a", turns=2)}, {"status": "completed"}], True),  # no metrics: the earlier stand
        ([{"metrics": metrics("a", turns=2)}, {"metrics": metrics("a", turns=0)}], False),  # the last metrics win
    ],
)
def test_live_turns_are_settled_only_when_the_last_metrics_carry_turns(
    ends: list[dict[str, Any]], settled: bool
) -> None:
    from patterdash.core.events import LoggedEvent
    from patterdash.core.rollups import turns_settled

    events = [LoggedEvent(n, f"e{n}", "call_end", "a", 1.0, data, b"") for n, data in enumerate(ends, 1)]
    assert turns_settled(events) is settled
