"""SSE frames spliced from the stored data JSON are byte-identical to encoding the payload dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from patterdash.core.bus import encode_frame
from patterdash.core.events import LoggedEvent, validate_event
from patterdash.store.sqlite import EventLog
from tests.factories import full_call

T0 = 1_700_000_000.123456789


def _expected(ev: LoggedEvent) -> bytes:
    """The SSE frame by its definition: the Patter-shaped payload encoded from the dict."""
    if ev.type == "calls_deleted":
        payload = {**ev.data, "seq": ev.seq, "ts": ev.ts}
    else:
        payload = {"call_id": ev.call_id, **ev.data, "seq": ev.seq, "ts": ev.ts}
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (ev.seq, ev.type.encode(), orjson.dumps(payload))


CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "empty data": ("call_start", "c", {}),
    "unicode and escapes": ("transcript_line", 'c\u00e9"\\', {"role": "user", "text": 'h\u00e9llo \U0001f600\n"q"'}),
    "data overrides call_id": ("call_status", "c", {"status": "ringing", "call_id": "other"}),
    "envelope overrides seq and ts": ("call_status", "c", {"status": "ringing", "seq": 1, "ts": "x"}),
    "calls_deleted": ("calls_deleted", "*", {"call_ids": ["a", "b"]}),
    "nested": ("call_event", "c", {"kind": "tool", "detail": {"a": [1, 2.5, None, {"b": True}]}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_spliced_frame_equals_the_encoded_payload(case: str) -> None:
    event_type, call_id, data = CASES[case]
    ev = LoggedEvent(42, "id", event_type, call_id, T0, data, orjson.dumps(data))
    assert encode_frame(ev) == _expected(ev) == encode_frame(ev._replace(data_json=None))
    orjson.loads(encode_frame(ev).split(b"data: ", 1)[1])  # valid JSON


def test_frames_of_appended_and_reread_events_equal_the_encoded_payload(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "f.db")
    try:
        events = [validate_event(raw, now=T0) for raw in full_call("c", ts=T0)]
        appended = log.append([events], known_seq=0).events
        reread = log.read_after(0)
    finally:
        log.close()
    assert [ev.data_json is not None for ev in appended + reread] == [True] * 12
    assert [encode_frame(ev) for ev in appended] == [_expected(ev) for ev in appended]
    assert [encode_frame(ev) for ev in reread] == [encode_frame(ev) for ev in appended]
