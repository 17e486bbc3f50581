"""The rollups through the storage contract, on every backend: incremental == rebuild == the log's calls."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from patterdash.core.rollups import GRAINS, Deltas, fact_of
from patterdash.export import log_records
from patterdash.store import Store, open_store
from tests.test_rollups import _append, plans

Plan = list[list[list[tuple[str, str, int, list[str]]]]]
_ALL = 10**11


def _snapshot(store: Store) -> dict[str, Any]:
    """Everything the history API can read: every grain's rows and histograms, and the counted calls."""
    out: dict[str, Any] = {}
    for grain in GRAINS:
        for direction in ("inbound", "outbound"):
            rows, hist = store.rollup_rows([(grain, 0, _ALL)], every=grain, statuses=None, direction=direction)
            out[f"rows{grain}{direction}"] = sorted(map(tuple, rows))
            out[f"hist{grain}{direction}"] = sorted(map(tuple, hist))
    out["facts"] = store.call_facts(-_ALL, _ALL, limit=10**6)
    return out


def _expected(store: Store) -> list[tuple[Any, ...]]:
    """Hour rows (t, status, *sums) from every call the export reads, inbound then outbound."""
    deltas = Deltas()
    for record in log_records(store):
        deltas.add(fact_of(record), +1, grains=(3600,))
    rows = deltas.nonzero().rows
    return [
        row
        for direction in ("inbound", "outbound")
        for row in sorted((k[1], k[2], *v) for k, v in rows.items() if k[3] == direction)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def new_store_url(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A callable giving a fresh, empty store URL of one backend per call."""
    if request.param == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            counter = iter(range(10**6))
            yield lambda: f"sqlite:///{Path(tmp) / f'log{next(counter)}.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        yield server.fresh_database


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=plans)
def test_incremental_rollups_equal_a_rebuild_on_every_backend(new_store_url: Any, plan: Plan) -> None:
    store = open_store(new_store_url())
    try:
        _append(store, plan)
        incremental = _snapshot(store)
        assert incremental["rows3600inbound"] + incremental["rows3600outbound"] == _expected(store)
        store.rebuild_rollups()
        assert _snapshot(store) == incremental
    finally:
        store.close()


def test_call_facts_page_newest_first_with_filters(new_store_url: Any) -> None:
    store = open_store(new_store_url())
    try:
        plan: Plan = [
            [[("call_start", c, n, []), ("call_end", c, n, [])]] for n, c in enumerate(["a", "b", "c", "d", "e"])
        ]
        _append(store, plan)
        everything = store.call_facts(-_ALL, _ALL)
        assert [f.call_id for f in everything] == ["e", "d", "c", "b", "a"]  # started_at descending
        first = store.call_facts(-_ALL, _ALL, limit=2)
        rest = store.call_facts(-_ALL, _ALL, before=(first[-1].started_at, first[-1].call_id))
        assert [f.call_id for f in first + rest] == ["e", "d", "c", "b", "a"]
        assert [f.call_id for f in store.call_facts(-_ALL, _ALL, direction="outbound")] == ["d", "b"]
        assert len(store.call_facts(-_ALL, _ALL, provider="deepgram")) == 5
        assert store.call_facts(-_ALL, _ALL, provider="deep") == []  # whole names only
        assert store.call_facts(-_ALL, _ALL, statuses=[]) == []
        span = store.facts_span()
        assert span is not None and span[0] == everything[-1].started_at
    finally:
        store.close()
