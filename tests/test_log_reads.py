"""Reads of many events come back exact: seq order, timestamps to the last bit, stored bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

import patterdash.store.sqlite
from patterdash.core.events import validate_event
from patterdash.store.sqlite import EventLog

TS = [1_700_000_000.1234567, 0.1, 1e-7, 1_800_000_000.0, 2.0**-30 + 1_700_000_000]


@pytest.fixture
def fresh_log(tmp_path: Path) -> Iterator[EventLog]:
    log = EventLog(tmp_path / "reads.db")
    yield log
    log.close()


def test_timestamps_data_and_stored_bytes_survive_a_read_exactly(fresh_log: EventLog) -> None:
    raw = [
        {
            "type": "transcript_line",
            "call_id": f"c\u00e9{i}",
            "ts": ts,
            "data": {"role": "user", "text": f'\u00e9"\\\n{i}'},
        }
        for i, ts in enumerate(TS)
    ]
    appended = fresh_log.append([[validate_event(r, now=0.0) for r in raw]], known_seq=0).events
    for read in (fresh_log.read_after(0), fresh_log.events_for_calls([r["call_id"] for r in raw])):
        assert read == appended  # every field, data_json included
        assert [ev.ts for ev in read] == TS  # bit for bit
        assert all(ev.data_json == orjson.dumps(ev.data) for ev in read)


@pytest.mark.parametrize(("after", "limit"), [(0, None), (0, 250), (37, 101), (180, None)])
def test_reads_page_in_seq_order_without_gaps_or_repeats(
    fresh_log: EventLog, monkeypatch: pytest.MonkeyPatch, after: int, limit: int | None
) -> None:
    monkeypatch.setattr(patterdash.store.sqlite, "_PAGE", 16)  # many pages from a small log
    events = [
        validate_event({"type": "call_start", "call_id": f"c{i % 7}", "ts": float(i)}, now=0.0) for i in range(300)
    ]
    fresh_log.append([events], known_seq=0)
    seqs = [ev.seq for ev in fresh_log.read_after(after, limit=limit)]
    expected = list(range(after + 1, 301))[:limit]
    assert seqs == expected
    by_call = fresh_log.events_for_calls(["c3", "c5"])
    assert [ev.seq for ev in by_call] == [s for s in range(1, 301) if (s - 1) % 7 in (3, 5)]
