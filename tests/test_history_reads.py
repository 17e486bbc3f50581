"""How the SQLite log reads history rollups: one primary-key range per span, and the same answer as the facts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterdash.core.events import validate_event
from patterdash.core.history import BUCKETS, assemble, rows_of_facts, window
from patterdash.store import Store, open_store
from patterdash.store.sqlite import EventLog
from tests.factories import metrics, turn

DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
STATUSES = ["completed", "busy", "completed", "failed", "no-answer"]


def _events(n: int) -> list[dict[str, Any]]:
    """Call n: started every 47 min 13 s over ~6 days, with its own status, direction and turn latencies."""
    cid, start = f"r{n:04d}", T0 + n * 2_833
    m = metrics(cid, duration=20.0 + n % 7, cost=0.01 * (n % 3 + 1), turns=0)
    m["turns"] = [turn(i, total=150.0 + 37.0 * ((n * 7 + i) % 60)) for i in range(1 + n % 4)]
    data = {"started_at": start, "status": STATUSES[n % 5], "direction": ["inbound", "outbound"][n % 2], "metrics": m}
    raw = [
        {"id": f"{cid}:s", "type": "call_start", "call_id": cid, "ts": start, "data": {"direction": data["direction"]}},
        {"id": f"{cid}:e", "type": "call_end", "call_id": cid, "ts": start + 60, "data": data},
    ]
    return [validate_event(ev, now=start) for ev in raw]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    log = open_store(tmp_path_factory.mktemp("reads") / "events.db")
    log.append([[ev for n in range(180) for ev in _events(n)]], known_seq=0)
    yield log
    log.close()


def test_each_span_is_one_primary_key_range_and_the_day_rows_need_no_sort(store: Store) -> None:
    assert isinstance(store, EventLog)
    win = window(T0 + 1_234.5, T0 + 30 * DAY + 1_234.5, None)  # what the UI's 30d range asks
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)  # the SQL as run, values bound
    try:
        store.rollup_rows(win.spans(), every=win.bucket, statuses=None, direction=None)
    finally:
        store.db.conn.set_trace_callback(None)
    assert len(win.spans()) == 4 and len(statements) == 2
    for sql in statements:
        plan = [row[3] for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        reads = [step for step in plan if step.startswith(("SEARCH", "SCAN rollup"))]
        assert len(reads) == 4 and "MULTI-INDEX OR" not in plan, plan  # one range per span, no keys collected first
        assert all("USING PRIMARY KEY (grain=? AND bucket>? AND bucket<?)" in step for step in reads), plan
    sums_plan = [row[3] for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {statements[0]}")]
    assert sums_plan.count("USE TEMP B-TREE FOR GROUP BY") == 3  # the 6-hour span groups in key order


def _from_facts(store: Store, lo: float, hi: float, bucket: int | None) -> dict[str, Any]:
    win = window(lo, hi, bucket)
    facts = store.call_facts(win.lo, win.hi - 1e-6, statuses=None, direction=None, limit=10_000)
    rows, hist = rows_of_facts(facts)
    return assemble(rows, hist, win)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lo=st.floats(T0 - DAY, T0 + 6 * DAY),
    span=st.floats(0, 9 * DAY),
    bucket=st.sampled_from([None, *BUCKETS]),
    filtered=st.booleans(),
)
def test_rollups_answer_any_window_as_the_facts_do(
    store: Store, lo: float, span: float, bucket: int | None, filtered: bool
) -> None:
    try:
        win = window(lo, lo + span, bucket)
    except ValueError:
        return  # too many points for this bucket: the route refuses it
    statuses, direction = (["busy", "failed"], "outbound") if filtered else (None, None)
    rows, hist = store.rollup_rows(win.spans(), every=win.bucket, statuses=statuses, direction=direction)
    facts = store.call_facts(win.lo, win.hi - 1e-6, statuses=statuses, direction=direction, limit=10_000)
    assert assemble(rows, hist, win) == assemble(*rows_of_facts(facts), win)


def test_the_bench_log_answers_as_the_naive_scan(tmp_path: Path) -> None:
    """bench.history's log and its naive SQL scan agree with the rollups (a small log, the same code)."""
    from bench.history_log import T0 as B0
    from bench.history_log import built_log
    from bench.history_naive import python_fold, sql_scan

    path, info = built_log(tmp_path, 400, turns=2)
    assert info["calls"] == 400 and built_log(tmp_path, 400, turns=2)[1] == info  # built once, then reused
    log = open_store(path, create=False)
    try:
        win = window(B0 + 1_234.5, B0 + 30 * DAY + 1_234.5, None)
        rows, hist = log.rollup_rows(win.spans(), every=win.bucket, statuses=None, direction=None)
        answer = assemble(rows, hist, win)
        assert answer["totals"]["calls"] == 399  # the first call starts before the window
        assert sql_scan(path, win) == answer
        assert python_fold(log, win) == (answer, 400)
    finally:
        log.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM call_facts").fetchone()[0] == 400


def test_each_page_of_facts_costs_the_same_wherever_it_starts(store: Store) -> None:
    """Paging the facts by keyset reads each page's rows only, not every row above it (was quadratic)."""
    assert isinstance(store, EventLog)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    def cost(before: tuple[float, str]) -> int:
        nonlocal steps
        steps = 0
        store.db.conn.set_progress_handler(count, 10)
        try:
            page = store.call_facts(T0, T0 + 30 * DAY, direction="inbound", limit=5, before=before)
        finally:
            store.db.conn.set_progress_handler(None, 10)
        assert len(page) == 5
        return steps

    newest, oldest = cost((T0 + 30 * DAY, "")), cost((T0 + 20 * 2_833, ""))  # pages 1 and ~16 of 18
    assert oldest < 2 * newest + 5, (newest, oldest)
