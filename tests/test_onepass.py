"""The one-pass body validators accept exactly what the models accept, with the same result, byte for byte."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.payloads import call_end_payload, call_start_payload, native_call_events
from patterdash.core import onepass
from patterdash.core.events import EventValidationError, validate_event
from patterdash.sources.ingest import BadPayload, events_from_body, parse_json, patter_body, patter_event
from tests.test_dict_validation import NOW, _json, _mutated_event, _paths

# Raw JSON the two parsers read differently (orjson refuses or turns into a float), or that is too deep.
_RAW_ODD = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400", b"18446744073709551616", b"-9223372036854775809"]
_RAW_EDGE = [b"18446744073709551615", b"-9223372036854775808", b"1e-400", b"-0.0", b"1E5", b'"\\u00e9"']


def _nested(depth: int) -> bytes:
    """A JSON value ``depth`` levels deep (``[[...[1]...]]``)."""
    return b"[" * (depth - 1) + b"1" + b"]" * (depth - 1)


def _slow(body: bytes, *, ndjson: bool = False) -> tuple[str, Any]:
    """The path every refused body takes (the HTTP path before): orjson, the depth walk, then event by event."""
    try:
        raw = [parse_json(line) for line in body.split(b"\n") if line.strip()] if ndjson else parse_json(body)
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            return "bad", "no events in body"
        errors, events = [], []
        for index, item in enumerate(items):
            try:
                events.append(validate_event(item, now=NOW, from_json=True))
            except EventValidationError as e:
                errors.append({"index": index, "errors": e.detail})
    except BadPayload as e:
        return "bad", str(e).split(": ", 1)[-1]
    if errors:
        return "refused", errors
    return "accepted", _comparable(events)


def _fast(body: bytes, *, ndjson: bool = False) -> tuple[str, Any]:
    content_type = "application/x-ndjson" if ndjson else "application/json"
    try:
        return "accepted", _comparable(events_from_body(body, content_type, now=NOW))
    except BadPayload as e:
        return "bad", str(e).split(": ", 1)[-1]
    except EventValidationError as e:
        return "refused", e.detail


def _comparable(events: list[dict[str, Any]]) -> list[bytes]:
    """Events as bytes (key order counts), generated ids left out."""
    return [orjson.dumps({k: v for k, v in e.items() if k != "id" or not _generated(v)}) for e in events]


def _generated(event_id: str) -> bool:
    return len(event_id) == 32 and all(c in "0123456789abcdef" for c in event_id)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_mutated_event(), min_size=1, max_size=4), single=st.booleans(), ndjson=st.booleans())
def test_a_body_is_accepted_or_refused_as_event_by_event_validation_does(
    events: list[dict[str, Any]], single: bool, ndjson: bool
) -> None:
    lines = b"\n".join(orjson.dumps(e) for e in events)
    body = lines if ndjson else orjson.dumps(events[0] if single else events)
    assert _fast(body, ndjson=ndjson) == _slow(body, ndjson=ndjson)


@st.composite
def _odd_body(draw: st.DrawFn) -> bytes:
    """A valid native event with raw JSON that needs more than the models (odd numbers, deep nesting) in one place."""
    event = draw(_mutated_event())
    marker = "__ODD__"
    paths = [p for p in _paths(event) if p and isinstance(_at(event, p[:-1]), dict)]
    path = draw(st.sampled_from(paths)) if paths else ("data",)
    parent = _at(event, path[:-1])
    key = draw(st.sampled_from([path[-1], "unknown_key"]))
    parent[key] = marker
    depth = draw(st.integers(55, 66))
    raw = draw(st.sampled_from([*_RAW_ODD, *_RAW_EDGE, _nested(depth), b"[" + _nested(depth) + b",NaN]"]))
    body = orjson.dumps([event] if draw(st.booleans()) else event)
    return body.replace(orjson.dumps(marker), raw)


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_odd_body())
def test_odd_numbers_and_deep_nesting_are_judged_as_orjson_and_the_depth_limit_do(body: bytes) -> None:
    assert _fast(body) == _slow(body)


@pytest.mark.parametrize("raw", _RAW_ODD + [_nested(64)])
def test_what_the_models_cannot_see_in_an_unknown_key_goes_the_slow_way(raw: bytes) -> None:
    body = b'{"type":"call_status","call_id":"c","data":{"status":"x","extra":' + raw + b"}}"
    assert onepass.native_events(body, now=NOW) is None  # refused here, so the slow path judges and words it
    assert _fast(body) == _slow(body)
    big_int = raw.lstrip(b"-").isdigit()  # orjson reads it as a float: accepted
    assert _slow(body)[0] == ("accepted" if big_int else "bad")


def test_the_deepest_allowed_body_passes_in_one_pass() -> None:
    inner = _nested(62)  # under the event object and its data: 64 levels in all
    body = b'{"type":"call_status","call_id":"c","data":{"status":"x","extra":' + inner + b"}}"
    assert onepass.native_events(body, now=NOW) is not None
    assert _fast(body) == _slow(body)
    assert onepass.native_events(b"[" + body + b"]", now=NOW) is None  # one level more


def test_real_bodies_take_the_one_pass_path() -> None:
    events = [e for i in range(3) for e in native_call_events(f"c{i}")]
    assert onepass.native_events(orjson.dumps(events), now=NOW) is not None
    assert onepass.patter_fields(orjson.dumps(call_end_payload("c"))) is not None
    assert onepass.patter_fields(orjson.dumps(call_start_payload("c"))) is not None


def test_refused_bodies_keep_their_error_shape() -> None:
    good = {"type": "call_start", "call_id": "c"}
    body = orjson.dumps([good, {"type": "call_end", "call_id": "c", "data": {"metrics": {"cost": 5}}}])
    with pytest.raises(EventValidationError) as e:
        events_from_body(body, "application/json", now=NOW)
    assert e.value.detail[0]["index"] == 1
    assert [err["loc"] for err in e.value.detail[0]["errors"]] == ["data.metrics.cost"]


# -- the Patter SDK's body ------------------------------------------------------

_PATTER_VALUES = st.sampled_from(
    ["initiated", "completed", "", 0, 1, "0", None, False, True, 1.7e9, "2026-01-01T00:00:00Z"]
)


@st.composite
def _patter_payload(draw: st.DrawFn) -> dict[str, Any]:
    """A Patter start, end or initiated body with the values that pick its kind, and a few others, varied."""
    payload: dict[str, Any] = copy.deepcopy(
        draw(st.sampled_from([call_start_payload("p"), call_end_payload("p", turns=2), {"call_id": "p"}]))
    )
    for key in ("status", "ended_at", "call_id"):
        action = draw(st.sampled_from(["keep", "set", "drop"]))
        if action == "set":
            payload[key] = draw(_PATTER_VALUES | _json)
        elif action == "drop":
            payload.pop(key, None)
    for _ in range(draw(st.integers(0, 2))):
        paths = [p for p in _paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _at(payload, path[:-1])[path[-1]] = draw(_json)
    return orjson.loads(orjson.dumps(payload))


def _patter_outcome(body: bytes, *, fast: bool) -> tuple[str, Any]:
    try:
        event, kind = patter_body(body, now=NOW) if fast else patter_event(parse_json(body), now=NOW)
    except EventValidationError as e:
        return "refused", [err["loc"] for err in e.detail]
    except BadPayload as e:
        return "bad", str(e)
    return kind, orjson.dumps(event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_patter_payload())
def test_a_patter_body_is_read_as_the_models_read_it(payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    assert _patter_outcome(body, fast=True) == _patter_outcome(body, fast=False)


@pytest.mark.parametrize("raw", _RAW_ODD + [_nested(64)])
def test_a_patter_body_with_odd_raw_json_is_refused_in_one_pass(raw: bytes) -> None:
    body = orjson.dumps(call_start_payload("p"))[:-1] + b',"agent":' + raw + b"}"
    assert onepass.patter_fields(body) is None
    assert _patter_outcome(body, fast=True) == _patter_outcome(body, fast=False)
    if not raw.lstrip(b"-").isdigit():
        with pytest.raises(BadPayload):
            patter_body(body, now=NOW)


def test_a_body_one_level_too_deep_with_only_64_brackets_is_refused() -> None:
    body = b'{"a":' + _nested(64) + b"}"  # 64 brackets, 65 levels (the innermost is the scalar)
    with pytest.raises(BadPayload, match="nested too deeply"):
        parse_json(body)
