"""The dict validators (HTTP fast path) accept, refuse and normalise exactly as the models do."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterdash.core.events import CLIENT_EVENT_TYPES, EventValidationError, validate_event
from tests.factories import metrics, turn

NOW = 1_700_000_000.0
EXAMPLES: dict[str, dict[str, Any]] = {
    "call_initiated": {"caller": "+15550001111", "callee": "+15550002222", "direction": "outbound"},
    "call_start": {"caller": "+15550001111", "callee": "+15550002222", "agent": {"name": "x"}},
    "call_status": {"status": "ringing", "sip": 180},
    "transcript_line": {"turnIndex": 1, "role": "user", "text": "hello"},
    "turn_complete": {"turn": turn(0)},
    "call_end": {
        "metrics": metrics("c", turns=2),
        "transcript": [{"role": "user", "text": "hi", "timestamp": 1.0}, {"role": "assistant", "text": "yo"}],
        "started_at": "2026-11-27T10:00:00Z",
        "ended_at": 1_700_000_100,
        "status": "completed",
    },
    "call_event": {"kind": "tool_call", "name": "lookup", "detail": {"q": [1, {"r": None}]}},
    "calls_deleted": {"call_ids": ["a", "b"]},
}

_scalar = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8)
_json = st.recursive(
    _scalar | st.sampled_from(["1.5", "", "1e999", "2026-01-01T00:00:00", "user", "inbound"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _mutated_event(draw: st.DrawFn) -> dict[str, Any]:
    """A valid example with a few values replaced, keys dropped or unknown keys added."""
    event_type = draw(st.sampled_from(CLIENT_EVENT_TYPES))
    data = copy.deepcopy(EXAMPLES[event_type])
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(data)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        *head, last = path
        parent: Any = data
        for key in head:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[last] = draw(_json)
        elif action == "drop" and isinstance(parent, dict):
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(_json)
    event = {"type": event_type, "call_id": "c1", "data": data}
    return orjson.loads(orjson.dumps(event))  # what the HTTP parser hands over


def _outcome(raw: dict[str, Any], *, from_json: bool) -> tuple[str, Any]:
    try:
        event = validate_event(raw, now=NOW, from_json=from_json)
    except EventValidationError as e:
        return "refused", [err["loc"] for err in e.detail]
    event.pop("id")
    return "accepted", orjson.dumps(event)  # bytes: key order counts too


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_mutated_event())
def test_dict_validation_matches_the_models_on_json_input(raw: dict[str, Any]) -> None:
    assert _outcome(raw, from_json=True) == _outcome(raw, from_json=False)


@pytest.mark.parametrize("event_type", CLIENT_EVENT_TYPES)
def test_every_example_is_accepted_and_normalised_identically(event_type: str) -> None:
    raw = {"type": event_type, "call_id": "c1", "data": EXAMPLES[event_type]}
    fast, models = _outcome(raw, from_json=True), _outcome(raw, from_json=False)
    assert fast[0] == "accepted"
    assert fast == models


def test_defaults_are_plain_dicts_not_models() -> None:
    event = validate_event({"type": "call_end", "call_id": "c", "data": {"metrics": {}}}, now=NOW, from_json=True)
    cost = event["data"]["metrics"]["cost"]
    assert type(cost) is dict and cost["total"] == 0.0
    assert type(event["data"]["metrics"]["latency_p99"]) is dict
    orjson.dumps(event)  # everything in it is JSON


def test_a_nested_non_object_is_refused_with_its_location() -> None:
    raw = {"type": "call_end", "call_id": "c", "data": {"metrics": {"cost": 5}}}
    with pytest.raises(EventValidationError) as e:
        validate_event(raw, now=NOW, from_json=True)
    assert [err["loc"] for err in e.value.detail] == ["data.metrics.cost"]
    assert "dictionary" in e.value.detail[0]["msg"]
