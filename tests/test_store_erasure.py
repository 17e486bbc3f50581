"""The store contract's erasure, on both backends: find calls by number, purge them for good."""

from __future__ import annotations

from patterdash.store import Store
from tests.test_store_contract import call, opener, store, store_url, valid  # noqa: F401 (fixtures)


def test_calls_are_found_by_number_and_purged_with_their_summary(store: Store) -> None:  # noqa: F811
    one = call("one")
    one[0]["data"]["caller"] = "+14155550142"
    deleted = {"type": "calls_deleted", "call_id": "*", "data": {"call_ids": ["one"]}}
    store.append([one, call("two"), valid([deleted])], known_seq=0)
    assert store.calls_with_number("+14155550142") == ["one"]
    assert store.calls_with_number("+19999999999") == []
    removed = store.purge_calls(["one", "one", "never-seen"])
    assert (removed["events"], removed["calls"]) == (len(one), 1)
    assert store.events_for_calls(["one"]) == [] and store.call_summary("one") is None
    assert store.call_summary("two") is not None and store.events_for_calls(["two"])
    assert [e.type for e in store.read_after(0) if e.call_id == "*"] == ["calls_deleted"]  # log-wide kept
    again = store.purge_calls(["one"])
    assert (again["events"], again["calls"]) == (0, 0)


def test_completed_calls_before_a_time_oldest_first(store: Store) -> None:  # noqa: F811
    store.append([call("new", ts=1_700_000_500.0), call("old", ts=1_700_000_000.0)], known_seq=0)
    store.append([valid([{"type": "call_start", "call_id": "live", "data": {}, "ts": 1.0}])], known_seq=0)
    assert store.completed_before_ts(1_700_000_400.0, limit=10) == ["old"]
    assert store.completed_before_ts(2e9, limit=10) == ["old", "new"]
    assert store.completed_before_ts(2e9, limit=1) == ["old"]
    store.compact()
