"""One-pass validators: a request body's raw bytes parsed and validated in one pydantic-core call.

The schemas are derived from the models of ``core/events.py`` (through ``dictschema``'s
typed-dict rewrite), so the rules have one source. The fast path may refuse more than the
models do, never less: whatever it refuses, the caller validates again the slow way
(orjson, then event by event), which words the errors. So the error shapes users see are
the slow path's by construction, and on accepted bodies a property test holds the two
equal byte for byte.

What the models cannot say about raw JSON is enforced here, where a value of unknown
shape (an unknown key, ``Any``) is met: the nesting-depth limit, no NaN or Infinity, and
integers within the 64-bit range orjson keeps as integers (it turns larger ones into floats).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic_core import SchemaValidator, ValidationError

from patterdash.core.dictschema import to_typed_dict
from patterdash.core.events import CLIENT_EVENT_TYPES, EVENT_DATA_MODELS, EventIn, new_event_id

__all__ = ["MAX_DEPTH", "native_events", "patter_fields"]

MAX_DEPTH = 64  # JSON nesting levels a body may have (the slow path's parse_json says the same)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson parses as int; past it, a float
_SCALARS = frozenset({"str", "float", "bool", "none", "literal"})
_WRAPPERS = frozenset({"default", "nullable", "function-before", "function-after"})
Schema = dict[str, Any]


def _function(kind: str, function: Callable[[Any], Any], schema: Schema | None = None) -> Schema:
    """A ``function-plain``, ``-before`` or ``-after`` schema around a one-argument function."""
    out: Schema = {"type": f"function-{kind}", "function": {"type": "no-info", "function": function}}
    return out if schema is None else {**out, "schema": schema}


def _check_json(value: Any, limit: int) -> Any:
    """``value`` itself if it is at most ``limit`` levels deep, finite, with 64-bit integers; else ValueError."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise ValueError("nested too deeply")
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                below.extend(item.values())
            elif kind is list:
                below.extend(item)
            elif kind is float:
                if not math.isfinite(item):
                    raise ValueError("not a finite number")
            elif kind is int and not _INT_MIN <= item <= _INT_MAX:
                raise ValueError("integer out of range")
        level = below
    return value


def _json_value(above: int) -> Schema:
    """A value of any shape with ``above`` containers over it in the body."""
    limit = MAX_DEPTH - above
    return _function("plain", lambda value: _check_json(value, limit))


def _harden(schema: Schema, above: int, defs: dict[str, Schema]) -> Schema:
    """The typed-dict schema with refs inlined, ``any`` checked as raw JSON, and ints bounded."""
    kind = schema["type"]
    if kind == "definitions":
        inner = {**defs, **{d["ref"]: d for d in schema["definitions"]}}
        return _harden(schema["schema"], above, inner)
    if kind == "definition-ref":
        return _harden(defs[schema["schema_ref"]], above, defs)
    out = {k: v for k, v in schema.items() if k != "ref"}  # inlined: each position is its own copy
    if kind == "any":
        return _json_value(above)
    if kind == "int":
        return {"ge": _INT_MIN, "le": _INT_MAX, **out}  # the model's own bounds win
    if kind == "float":
        return {**out, "allow_inf_nan": False}
    if kind in _SCALARS:
        return out
    if kind in _WRAPPERS:
        return {**out, "schema": _harden(schema["schema"], above, defs)}
    if kind == "list":
        return {**out, "items_schema": _harden(schema.get("items_schema", {"type": "any"}), above + 1, defs)}
    if kind == "dict":
        return {**out, "values_schema": _harden(schema.get("values_schema", {"type": "any"}), above + 1, defs)}
    if kind == "typed-dict":
        return _harden_typed_dict(out, above, defs)
    raise TypeError(f"no one-pass rule for a {kind!r} schema")


def _harden_typed_dict(schema: Schema, above: int, defs: dict[str, Schema]) -> Schema:
    fields = {
        name: {**field, "schema": _harden(field["schema"], above + 1, defs)} for name, field in schema["fields"].items()
    }
    out = {**schema, "fields": fields}
    behaviour = schema.get("extra_behavior")
    if behaviour == "allow":
        out["extras_schema"] = _harden(schema.get("extras_schema", {"type": "any"}), above + 1, defs)
    elif behaviour != "forbid":  # ignored keys would escape the depth and number checks
        raise TypeError(f"no one-pass rule for extra keys that are {behaviour!r}")
    return out


def _data(event_type: str, above: int) -> Schema:
    """An event type's data, validated even when absent (its model's defaults, or its required fields)."""
    typed = to_typed_dict(EVENT_DATA_MODELS[event_type].__pydantic_core_schema__)
    return {"type": "default", "schema": _harden(typed, above, {}), "default_factory": dict, "validate_default": True}


def _field(schema: Schema, *, required: bool) -> Schema:
    return {"type": "typed-dict-field", "schema": schema, "required": required}


def _envelopes(above: int) -> Schema:
    """Every client event type's envelope with its data, as one union tagged by ``type``."""
    envelope = _harden(to_typed_dict(EventIn.__pydantic_core_schema__), above, {})
    ident = envelope["fields"]["call_id"]["schema"]["schema"]["schema"]  # default -> nullable -> str
    choices: dict[str, Schema] = {}
    for event_type in CLIENT_EVENT_TYPES:
        fields = dict(envelope["fields"])
        fields["type"] = _field({"type": "literal", "expected": [event_type]}, required=True)
        if event_type != "calls_deleted":  # log-wide: its call_id is set to "*"
            fields["call_id"] = _field(ident, required=True)
        fields["data"] = _field(_data(event_type, above + 1), required=False)
        choices[event_type] = {**envelope, "fields": fields}
    return {"type": "tagged-union", "choices": choices, "discriminator": "type"}


_ONE = SchemaValidator(_envelopes(0))
_MANY = SchemaValidator({"type": "list", "items_schema": _envelopes(1), "min_length": 1, "max_length": 10_000})


def _finish(events: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """What ``validate_event`` adds to a valid envelope: an id, a time, ``*`` for a log-wide event."""
    for event in events:
        if event["id"] is None:
            event["id"] = new_event_id()
        if event["ts"] is None:
            event["ts"] = now
        if event["type"] == "calls_deleted":
            event["call_id"] = "*"
    return events


def native_events(body: bytes, *, now: float, ndjson: bool = False) -> list[dict[str, Any]] | None:
    """A native body (one event, an array, or NDJSON lines) -> validated events; None if not valid here."""
    try:
        if ndjson:
            lines = [line for line in body.split(b"\n") if line.strip()]
            if not 0 < len(lines) <= 10_000:
                return None
            return _finish([_ONE.validate_json(line) for line in lines], now)
        if body[:64].lstrip()[:1] == b"[":  # more leading blanks than that: the slow path decides
            return _finish(_MANY.validate_json(body), now)
        return _finish([_ONE.validate_json(body)], now)
    except ValidationError:
        return None


# -- the Patter SDK's ingest body: its kind follows from its values (see sources.ingest.patter_event) --


def _not_initiated(value: Any) -> Any:
    if value == "initiated":
        raise ValueError("an initiated call")
    return value


def _present(value: Any) -> Any:
    if not value:
        raise ValueError("no end time")
    return value


def _guarded(guard: Callable[[Any], Any], schema: Schema) -> Schema:
    """``schema`` checking the raw value first; a default stays outermost (it applies when the key is absent)."""
    if schema["type"] == "default":
        return {**schema, "schema": _guarded(guard, schema["schema"])}
    return _function("before", guard, schema)


def _patter_kind(event_type: str, kind: str) -> Schema:
    """The body of one Patter kind: its data model's fields beside ``call_id``, and the checks that pick the kind."""
    data = _harden(to_typed_dict(EVENT_DATA_MODELS[event_type].__pydantic_core_schema__), 0, {})
    fields = dict(data["fields"])
    if kind == "ended":  # ``ended_at`` truthy, ``status`` not "initiated"
        ended_at = fields["ended_at"]["schema"]["schema"]  # without its default: required here
        fields["ended_at"] = _field(_guarded(_present, ended_at), required=True)
        fields["status"] = {**fields["status"], "schema": _guarded(_not_initiated, fields["status"]["schema"])}
    elif kind == "started":  # ``status`` not "initiated" and dropped; no truthy ``ended_at`` (checked after)
        fields["status"] = _field(_guarded(_not_initiated, _json_value(1)), required=False)
    else:
        fields["status"] = {
            **fields["status"],
            "required": True,
            "schema": {"type": "literal", "expected": ["initiated"]},
        }
    ident = {"type": "str", "min_length": 1, "max_length": 200, "strict": True}
    body = {**data, "fields": {"call_id": _field(ident, required=True), **fields}}
    return _function("after", lambda out: _patter_finish(kind, out), body)


def _patter_finish(kind: str, out: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if kind == "started":
        if out.get("ended_at"):
            raise ValueError("an ended call")
        out.pop("status", None)
    return kind, out.pop("call_id"), out


_KINDS = {"ended": _patter_kind("call_end", "ended"), "started": _patter_kind("call_start", "started")}
_KINDS["initiated"] = _patter_kind("call_initiated", "initiated")


def _first_match(kinds: list[str]) -> Schema:
    return {"type": "union", "choices": [_KINDS[k] for k in kinds], "mode": "left_to_right"}


# The guards let at most one kind accept a body, so the order only saves work: a failed try costs a pass.
_ENDED_FIRST = SchemaValidator(_first_match(["ended", "started", "initiated"]))
_STARTED_FIRST = SchemaValidator(_first_match(["started", "initiated", "ended"]))


def patter_fields(body: bytes) -> tuple[str, str, dict[str, Any]] | None:
    """A Patter ingest body -> (kind, call_id, validated data); None if not valid here."""
    try:
        validator = _ENDED_FIRST if b'"ended_at"' in body else _STARTED_FIRST  # a hint: an escaped key still works
        result: tuple[str, str, dict[str, Any]] = validator.validate_json(body)
    except ValidationError:
        return None
    return result
