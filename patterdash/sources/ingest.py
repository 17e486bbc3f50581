"""Payloads -> events: request bodies (JSON, arrays, NDJSON) and the Patter SDK's ingest shape.

Pure functions; the web layer and the CLI call them, then hand events to the service.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from patterdash.core import onepass
from patterdash.core.events import EventValidationError, validate_event

__all__ = ["BadPayload", "events_from_body", "parse_json", "patter_body", "patter_event", "patter_event_id"]

_NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)
_MAX_DEPTH = onepass.MAX_DEPTH


class BadPayload(ValueError):
    """The body is not well-formed (HTTP 400), as opposed to well-formed but invalid (422)."""

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.detail = detail


def _depth(value: Any, limit: int = _MAX_DEPTH) -> int:
    # Level by level with C-level list.extend: no per-value tuples or generators. ``type() is``
    # (orjson builds exact dicts and lists) is twice as fast here as isinstance.
    level = [value]
    deepest = 0
    while level:
        deepest += 1
        if deepest > limit:
            return deepest
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                below.extend(item.values())
            elif kind is list:
                below.extend(item)
        level = below
    return deepest


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, bounded nesting."""
    try:
        value = orjson.loads(body)  # orjson itself refuses invalid UTF-8
    except orjson.JSONDecodeError as e:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise BadPayload("body is not valid UTF-8", {"position": bad.start}) from e
        raise BadPayload("malformed JSON", {"message": str(e)}) from e
    # Nesting deeper than the limit needs at least as many brackets as the limit (the deepest level
    # can be a scalar): counting them is C-speed (a Patter call_end has ~50), so the walk runs only
    # for big bodies.
    if body.count(b"{") + body.count(b"[") >= _MAX_DEPTH and _depth(value) > _MAX_DEPTH:
        raise BadPayload("JSON nested too deeply", {"max_depth": _MAX_DEPTH})
    return value


def _parse_ndjson(body: bytes) -> list[Any]:
    items = []
    for lineno, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_json(line))
        except BadPayload as e:
            raise BadPayload(f"line {lineno}: {e}", e.detail) from e
    return items


def events_from_body(body: bytes, content_type: str, *, now: float) -> list[dict[str, Any]]:
    """One event, a JSON array, or NDJSON lines -> validated events; all or nothing.

    One pydantic-core call parses and validates the body; only a body it refuses is parsed
    again and validated event by event, which words the errors (the event's index and field).
    """
    ndjson = content_type.split(";")[0].strip().lower() in _NDJSON_TYPES
    fast = onepass.native_events(body, now=now, ndjson=ndjson)
    if fast is not None:
        return fast
    if not body.strip():
        raise BadPayload("empty body")
    if ndjson:
        raw: Any = _parse_ndjson(body)
    else:
        raw = parse_json(body)
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise BadPayload("no events in body")
    if len(items) > 10_000:
        raise BadPayload("too many events in one request", {"max": 10_000})
    events, errors = [], []
    for index, item in enumerate(items):
        try:
            events.append(validate_event(item, now=now, from_json=True))
        except EventValidationError as e:
            errors.append({"index": index, "errors": e.detail})
    if errors:
        raise EventValidationError(errors)
    return events


def patter_event_id(event_type: str, call_id: str) -> str:
    """The deterministic id of a Patter payload's event; long call ids are hashed to fit.

    ``patterdash.sources.calllog.event_id`` gives the same ids, so a call both posted by the SDK and
    imported from its call log is stored once.
    """
    event_id = f"patter:{event_type}:{call_id}"
    if len(event_id) <= 200:
        return event_id
    return f"patter:{event_type}:sha256-{hashlib.sha256(call_id.encode()).hexdigest()[:32]}"


def patter_body(body: bytes, *, now: float) -> tuple[dict[str, Any], str]:
    """``patter_event`` of a raw body, parsed and validated in one pass when it is valid."""
    fast = onepass.patter_fields(body)
    if fast is None:
        return patter_event(parse_json(body), now=now, from_json=True)  # words the error
    kind, call_id, data = fast
    event_type = _PATTER_TYPES[kind]
    event_id = patter_event_id(event_type, call_id)
    return {"id": event_id, "type": event_type, "call_id": call_id, "ts": now, "data": data}, kind


_PATTER_TYPES = {"initiated": "call_initiated", "ended": "call_end", "started": "call_start"}


def patter_event(payload: Any, *, now: float, from_json: bool = False) -> tuple[dict[str, Any], str]:
    """The Patter SDK's ``/api/dashboard/ingest`` body -> (event, kind).

    ``status == "initiated"`` is a call_initiated, ``ended_at`` present is a
    call_end (metrics and transcript from the body), anything else a call_start.
    Ids are deterministic per (kind, call) so a re-sent payload is not duplicated.
    ``from_json``: the payload came from a JSON parser (see ``validate_event``).
    """
    if not isinstance(payload, dict):
        raise EventValidationError([{"loc": "", "msg": "expected a JSON object"}])
    call_id = payload.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise EventValidationError([{"loc": "call_id", "msg": "Field required"}])
    data = {k: v for k, v in payload.items() if k != "call_id"}
    if payload.get("status") == "initiated":
        kind, event_type = "initiated", "call_initiated"
    elif payload.get("ended_at"):
        kind, event_type = "ended", "call_end"
    else:
        kind, event_type = "started", "call_start"
        data.pop("status", None)
    raw = {
        "id": patter_event_id(event_type, call_id),
        "type": event_type,
        "call_id": call_id,
        "data": data,
    }
    return validate_event(raw, now=now, from_json=from_json), kind
