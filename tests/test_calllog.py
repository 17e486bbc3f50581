"""Pure call-log parsing: incremental JSONL reads, deterministic ids, events that validate. No I/O."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patterdash.sources.calllog import (
    Malformed,
    call_log_events,
    event_id,
    parse_jsonl,
    parse_metadata,
    record_events,
    record_kind,
    validated,
)
from tests.calllogs import T0, end_metadata, start_metadata, turn_line

rows = st.lists(
    st.dictionaries(
        st.text(max_size=5), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20), st.none()), max_size=4
    ),
    max_size=8,
)


def _read_in_pieces(raw: bytes, cuts: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """Feed the file as a growing writer would, then read the rest as final."""
    got: list[tuple[int, dict[str, Any]]] = []
    offset = lines = 0
    for cut in sorted(cuts):
        chunk = parse_jsonl(raw[offset:cut], first_line=lines, final=False) if cut > offset else None
        if chunk is not None:
            got += chunk.rows
            offset, lines = offset + chunk.consumed, lines + chunk.lines
    last = parse_jsonl(raw[offset:], first_line=lines, final=True)
    return got + last.rows


@given(rows, st.lists(st.integers(min_value=0, max_value=2000), max_size=6), st.booleans())
def test_reading_a_growing_jsonl_file_in_pieces_equals_reading_it_whole(
    items: list[dict[str, Any]], cuts: list[int], trailing_newline: bool
) -> None:
    raw = b"\n".join(orjson.dumps(item) for item in items) + (b"\n" if trailing_newline and items else b"")
    whole = parse_jsonl(raw, final=True)
    assert whole.bad == []
    assert [row for _, row in whole.rows] == items
    assert _read_in_pieces(raw, [c for c in cuts if c <= len(raw)]) == whole.rows


def test_an_unterminated_last_line_waits_unless_final() -> None:
    raw = b'{"a": 1}\n{"b": '
    waiting = parse_jsonl(raw, final=False)
    assert (waiting.rows, waiting.consumed, waiting.lines) == ([(0, {"a": 1})], 9, 1)
    final = parse_jsonl(raw, final=True)
    assert final.bad and final.bad[0][0] == 2


def test_event_ids_are_deterministic_and_bounded() -> None:
    assert event_id("CA1", "call_start") == "patter:call_start:CA1"  # the id /api/dashboard/ingest gives
    assert event_id("CA1", "turn", 3) == "import:CA1:turn:3"
    long_id = "x" * 200
    assert len(event_id(long_id, "turn", 7)) <= 200
    assert event_id(long_id, "turn", 7) == event_id(long_id, "turn", 7) != event_id(long_id, "turn", 8)


def test_a_whole_call_log_maps_to_valid_events_in_order() -> None:
    meta = end_metadata(start_metadata("CA1"), ended=T0 + 60, turns=2)
    call = parse_metadata(orjson.dumps(meta), dir_name="CA1")
    events = call_log_events(call, [(0, turn_line(0, T0 + 5)), (1, turn_line(1, T0 + 10))], [])
    good, bad = validated(events, now=T0)
    assert bad == []
    assert [e["type"] for e in good] == ["call_start", "turn_complete", "turn_complete", "call_end"]
    assert good[-1]["data"]["metrics"]["duration_seconds"] == 60.0
    assert "ts" not in good[1]["data"]["turn"] and "schema_version" not in good[1]["data"]["turn"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"call_id": "x", "started_at": "2026-01-0', "invalid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"call_id": "x"}', "started_at"),
        (b'{"call_id": "x", "started_at": "2026-01-01T00:00:00Z", "ended_at": "soon"}', "ended_at"),
    ],
)
def test_unreadable_metadata_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        parse_metadata(raw, dir_name="x")


def test_record_kinds_are_told_apart() -> None:
    assert record_kind({"call_id": "a", "ended_at": 1.0}) == "record"
    assert record_kind({"call_id": "a", "type": "call_end", "data": {}}) == "event"
    assert record_kind({"call_id": "a", "turn_index": 0, "user_text": ""}) == "turn"
    assert record_kind({"call_id": "a"}) == record_kind([1]) == "unknown"
    with pytest.raises(Malformed):
        record_events({"call_id": "a", "started_at": T0})
