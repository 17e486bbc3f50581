"""The storage contract, run unchanged against every backend (SQLite file, real PostgreSQL)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from patterdash.auth import list_tokens, rotate_token
from patterdash.core.events import validate_event
from patterdash.store import LogError, Store, StoreUnavailable, open_store
from tests.factories import event, full_call

OpenStore = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One fresh, empty store per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def opener(store_url: str) -> Iterator[OpenStore]:
    """Open more connections to the same store (as other processes or nodes would)."""
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(open_store(store_url))
        return opened[-1]

    yield open_one
    for one in opened:
        one.close()


@pytest.fixture
def store(opener: OpenStore) -> Store:
    """A fresh store."""
    return opener()


def valid(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as the ingest path hands them to a store."""
    return [validate_event(ev, now=1_700_000_000.0) for ev in events]


def call(call_id: str, ts: float = 1_700_000_000.0) -> list[dict[str, Any]]:
    """A whole call with ids derived from its call id."""
    return valid([{**ev, "id": f"{call_id}-{n}"} for n, ev in enumerate(full_call(call_id, ts=ts))])


def test_a_resent_id_appends_nothing_and_answers_the_first_seq(store: Store) -> None:
    first = store.append([call("CA-1")], known_seq=0)
    again = store.append([call("CA-1")], known_seq=store.max_seq())
    assert again.seqs == first.seqs and again.events == [] and again.duplicates == 6
    assert again.conflicts == [[]]
    assert [e.seq for e in store.read_after(0)] == list(range(1, 7))


def test_a_reused_id_with_other_content_is_flagged_and_the_first_kept(store: Store) -> None:
    line = valid([event("transcript_line", "CA-c", {"turnIndex": 0, "role": "user", "text": "a"}, id="x")])
    changed = [{**line[0], "data": {**line[0]["data"], "text": "b"}}]
    retried = [{**line[0], "ts": line[0]["ts"] + 5}]  # a retry stamped again: not a conflict
    outcome = store.append(
        [line, changed, retried, [*changed, *valid([event("call_start", "CA-d", id="y")])]], known_seq=0
    )
    assert outcome.seqs == [[1], [1], [1], [1, 2]]
    assert outcome.conflicts == [[], [0], [], [0]]
    assert store.append([changed], known_seq=2).conflicts == [[0]]  # against the stored row too
    assert store.read_after(0)[0].data["text"] == "a"


def test_a_failing_batch_group_commits_nothing(store: Store) -> None:
    store.append([call("CA-ok")], known_seq=0)
    broken = call("CA-bad")
    broken[3] = {**broken[3], "call_id": None}  # violates NOT NULL inside the transaction
    with pytest.raises(LogError):
        store.append([call("CA-other"), broken], known_seq=6)
    assert store.max_seq() == 6 and store.call_summary("CA-other") is None
    assert store.append([call("CA-other")], known_seq=6).seqs == [list(range(7, 13))]


def test_concurrent_writers_get_gapless_seqs_and_a_tailing_reader_never_skips_one(opener: OpenStore) -> None:
    writers, batches = 4, 15
    stores = [opener() for _ in range(writers)]
    reader = opener()
    seen: list[int] = []
    done = threading.Event()

    def write(n: int) -> None:
        for b in range(batches):
            ev = event("transcript_line", f"CA-w{n}", {"turnIndex": b, "role": "user", "text": "t"}, id=f"w{n}-{b}")
            stores[n].append([valid([ev, {**ev, "id": f"w{n}-{b}b"}])], known_seq=0)

    def tail() -> None:
        position = 0
        while not done.is_set() or position < writers * batches * 2:
            got = reader.read_after(position, limit=7)
            seen.extend(e.seq for e in got)
            position = got[-1].seq if got else position

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    tailer = threading.Thread(target=tail)
    tailer.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done.set()
    tailer.join(timeout=60)
    total = writers * batches * 2
    assert seen == list(range(1, total + 1))  # paging by position never jumped past a late commit
    assert sorted(e.id for e in reader.read_after(0)) == sorted(
        f"w{n}-{b}{s}" for n in range(4) for b in range(15) for s in ("", "b")
    )


def test_reads_by_range_and_by_call_page_in_seq_order(store: Store) -> None:
    for n in range(5):
        store.append([call(f"CA-r{n}", ts=1_700_000_000.0 + n)], known_seq=store.max_seq())
    assert [e.seq for e in store.read_after(7, limit=4)] == [8, 9, 10, 11]
    assert [e.seq for e in store.read_after(28)] == [29, 30]
    assert store.read_after(30) == []
    mine = store.events_for_calls(["CA-r1", "CA-r3"])
    assert [e.seq for e in mine] == [*range(7, 13), *range(19, 25)]
    assert mine[0].data == call("CA-r1")[0]["data"]
    assert mine[0].data_json.startswith(b"{")


def test_the_calls_index_follows_appends_and_deletions(store: Store) -> None:
    for n in range(4):
        store.append([call(f"CA-i{n}")], known_seq=store.max_seq())
    store.append([valid([event("call_start", "CA-live", id="live")])], known_seq=store.max_seq())
    deletion = valid([event("calls_deleted", "*", {"call_ids": ["CA-i1", "CA-live"]}, id="del")])
    store.append([deletion], known_seq=store.max_seq())
    assert store.rebuild_selection(2) == (["CA-live"], ["CA-i3", "CA-i2"])
    assert store.completed_count() == 3
    assert store.completed_before(19, count=5) == ["CA-i2", "CA-i0"]
    summary = store.call_summary("CA-i1")
    assert summary is not None and summary["deleted"] == 1 and summary["completed_seq"] == 12
    assert (store.call_summary("CA-live") or {})["deleted"] == 0  # active calls are never deleted
    assert sorted(store.call_ids()) == ["CA-i0", "CA-i1", "CA-i2", "CA-i3", "CA-live"]
    assert [next(e.call_id for e in c) for c in store.iter_completed_calls(batch=2)] == ["CA-i0", "CA-i2", "CA-i3"]
    assert all(e.type != "calls_deleted" for e in store.events_for_calls(["*", "CA-i1"]))


def test_tokens_are_shared_and_a_change_moves_the_marker_seen_elsewhere(opener: OpenStore) -> None:
    mine, theirs = opener(), opener()
    before = theirs.change_marker()
    secret, row = rotate_token(mine, scope="read", grace=0, now=time.time())
    assert secret not in str(theirs.tokens())
    assert [t["id"] for t in list_tokens(theirs)] == [row["id"]]
    assert theirs.change_marker() != before
    assert mine.update_token(row["id"], revoked_at=5.0) and not mine.update_token("tok_nope", revoked_at=5.0)
    assert theirs.tokens()[0]["revoked_at"] == 5.0


def test_the_tail_returns_what_others_appended_with_completion(opener: OpenStore) -> None:
    mine, theirs = opener(), opener()
    mine.append([call("CA-t1")], known_seq=0)
    marker = mine.change_marker()
    theirs.append([call("CA-t2")], known_seq=0)
    assert mine.change_marker() != marker
    events, completed = mine.read_new(6)
    assert [e.seq for e in events] == list(range(7, 13)) and completed == {"CA-t2": 12}
    outcome = mine.append([call("CA-t3")], known_seq=6)  # foreign rows come first, in order
    assert [e.seq for e in outcome.events] == list(range(7, 19))


def test_schema_version_is_recorded(store: Store) -> None:
    assert store.schema_version() >= 1 and store.migrated_from == 0
    assert store.try_lead() is True


def test_an_unreachable_postgres_is_one_clear_error_fast() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=re.escape("PostgreSQL at postgresql://pd:***@127.0.0.1:1/pd")):
        open_store("postgresql://pd:secret@127.0.0.1:1/pd")
    assert time.monotonic() - started < 10


def test_a_damaged_sqlite_file_is_one_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 500)
    with pytest.raises(LogError, match=r"junk\.db"):
        open_store(junk)
