"""Patter call logs and dashboard exports -> native events, with deterministic ids. No I/O.

A Patter call-log directory (``YYYY/MM/DD/<call_id>/``) holds ``metadata.json``
(written at start, rewritten with ``ended_at`` at the end), ``transcript.jsonl``
(one TurnMetrics per line) and ``events.jsonl`` (tool calls, barge-ins, errors).
Exports (patterdash's or the Patter SDK's) are lists of call records. Both map
to the same events with the same ids, so importing twice, or importing what
``serve --watch-logs`` already followed, appends nothing. Start and end use the
ids the server gives the Patter SDK's own notify posts, so those never double up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from patterdash.core.events import EVENT_TYPES, TERMINAL_STATUSES, EventValidationError, parse_epoch, validate_event
from patterdash.core.projection import RECORD_KEYS

__all__ = [
    "CallLog",
    "JsonlChunk",
    "Malformed",
    "call_log_events",
    "end_event",
    "event_id",
    "native_event",
    "op_event",
    "parse_jsonl",
    "parse_metadata",
    "record_events",
    "record_kind",
    "start_event",
    "turn_event",
    "validated",
]

_MAX_ID = 200
_DIRECTIONS = ("inbound", "outbound")
_UNFINISHED = frozenset({"", "in_progress", "in-progress", "initiated", "ringing", "queued", "answered"})


class Malformed(ValueError):
    """A file or record that cannot be read as what it claims to be; the message says why."""


def event_id(call_id: str, kind: str, n: int = 0) -> str:
    """The deterministic id of an imported event (start and end match the Patter ingest ids)."""
    if kind in ("call_start", "call_end", "call_initiated"):
        candidate = f"patter:{kind}:{call_id}"
    else:
        candidate = f"import:{call_id}:{kind}:{n}"
    if len(candidate) <= _MAX_ID:
        return candidate
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:32]
    return event_id(f"sha256-{digest}", kind, n)


def _epoch(value: Any) -> float | None:
    try:
        return parse_epoch(value)
    except ValueError:
        return None


# -- call-log files -----------------------------------------------------------


@dataclass
class CallLog:
    """One call's parsed metadata: identity, times and the raw envelope."""

    call_id: str
    meta: dict[str, Any]
    started_at: float
    ended_at: float | None

    @property
    def ended(self) -> bool:
        """Whether the agent has written the call's end (``ended_at``)."""
        return self.ended_at is not None


def parse_metadata(raw: bytes, *, dir_name: str) -> CallLog:
    """``metadata.json`` bytes -> CallLog; Malformed when unreadable (maybe half-written)."""
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Malformed(f"invalid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise Malformed("metadata is not a JSON object")
    call_id = meta.get("call_id") or dir_name
    if not isinstance(call_id, str) or not call_id:
        raise Malformed("no call_id")
    ended = _epoch(meta.get("ended_at"))
    if meta.get("ended_at") not in (None, "") and ended is None:
        raise Malformed(f"unreadable ended_at {str(meta.get('ended_at'))[:40]!r}")
    started = _epoch(meta.get("started_at"))
    if started is None:
        duration_ms = meta.get("duration_ms")
        if ended is None or not isinstance(duration_ms, int | float):
            raise Malformed("no readable started_at")
        started = ended - float(duration_ms) / 1000
    return CallLog(call_id=call_id, meta=meta, started_at=started, ended_at=ended)


@dataclass
class JsonlChunk:
    """Complete JSONL lines read from a byte offset: rows, bad lines, bytes and lines consumed."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    consumed: int = 0
    lines: int = 0


def parse_jsonl(raw: bytes, *, first_line: int = 0, final: bool) -> JsonlChunk:
    """Parse JSONL bytes; an unterminated last line waits for more unless ``final``."""
    chunk = JsonlChunk()
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        if end < 0 and not final:
            break  # a line still being written: picked up on the next change
        stop = len(raw) if end < 0 else end + 1
        line_no = first_line + chunk.lines
        text = raw[pos:stop].strip()
        if text:
            try:
                row = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                chunk.bad.append((line_no + 1, f"invalid JSON ({e})"))
            else:
                if isinstance(row, dict):
                    chunk.rows.append((line_no, row))
                else:
                    chunk.bad.append((line_no + 1, "line is not a JSON object"))
        chunk.lines += 1
        pos = stop
    chunk.consumed = pos
    return chunk


def _direction(value: Any) -> str | None:
    return value if value in _DIRECTIONS else None


def start_event(call: CallLog) -> dict[str, Any]:
    """The call_start of a call-log directory (the call appears active)."""
    meta = call.meta
    data: dict[str, Any] = {
        "caller": meta.get("caller") or "",
        "callee": meta.get("callee") or "",
        "direction": _direction(meta.get("direction")) or "inbound",
    }
    for key in ("telephony_provider", "provider_mode", "agent", "trace_id"):
        if meta.get(key):
            data[key] = meta[key]
    cid = call.call_id
    return {
        "id": event_id(cid, "call_start"),
        "type": "call_start",
        "call_id": cid,
        "ts": call.started_at,
        "data": data,
    }


def _turn_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("schema_version", "ts")}


def turn_event(call: CallLog, line: int, row: dict[str, Any]) -> dict[str, Any]:
    """A transcript.jsonl line -> turn_complete (id from the line number)."""
    turn = _turn_of(row)
    ts = _epoch(turn.get("timestamp")) or _epoch(row.get("ts")) or call.started_at
    if not turn.get("timestamp"):
        turn["timestamp"] = ts
    cid = call.call_id
    return {
        "id": event_id(cid, "turn", line),
        "type": "turn_complete",
        "call_id": cid,
        "ts": ts,
        "data": {"turn": turn},
    }


def op_event(call: CallLog, line: int, row: dict[str, Any]) -> dict[str, Any]:
    """An events.jsonl line (tool_call, barge_in, error...) -> call_event."""
    raw = row.get("data")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = detail.get("name") if isinstance(detail.get("name"), str) else ""
    data = {"kind": str(row.get("type") or "event"), "name": name, "detail": detail}
    ts = _epoch(row.get("ts")) or call.started_at
    cid = call.call_id
    return {"id": event_id(cid, "event", line), "type": "call_event", "call_id": cid, "ts": ts, "data": data}


def _metrics(call: CallLog, turns: list[dict[str, Any]]) -> dict[str, Any]:
    """CallMetrics: metadata.json's own ``metrics`` object when it has one (Patter's hydrate reads it
    first), else built from the end-of-call fields CallLogger writes at its top level."""
    meta = call.meta
    if isinstance(meta.get("metrics"), dict):
        given = dict(meta["metrics"])
        given.setdefault("call_id", call.call_id)
        if not given.get("turns"):
            given["turns"] = turns
        return given
    raw = meta.get("latency")
    latency: dict[str, Any] = raw if isinstance(raw, dict) else {}
    duration_ms = meta.get("duration_ms")
    if isinstance(duration_ms, int | float) and not isinstance(duration_ms, bool):
        duration = float(duration_ms) / 1000
    else:
        duration = max(0.0, (call.ended_at or call.started_at) - call.started_at)
    out: dict[str, Any] = {
        "call_id": call.call_id,
        "duration_seconds": duration,
        "turns": turns,
        "provider_mode": str(meta.get("provider_mode") or ""),
        "telephony_provider": str(meta.get("telephony_provider") or ""),
        "error_code": str(meta.get("error") or ""),
    }
    if isinstance(meta.get("cost"), dict):
        out["cost"] = meta["cost"]
    for key in ("avg", "p50", "p95", "p99"):
        if isinstance(latency.get(key), dict):
            out[f"latency_{key}"] = latency[key]
    if "latency_avg" not in out and (latency.get("p95_ms") or latency.get("p50_ms")):
        out["latency_avg"] = {"total_ms": latency.get("p95_ms") or latency.get("p50_ms")}
    return out


def end_event(call: CallLog, turns: list[dict[str, Any]]) -> dict[str, Any]:
    """The call_end written when metadata.json gains ``ended_at`` (metrics from its fields)."""
    meta = call.meta
    status = str(meta.get("status") or "")
    data: dict[str, Any] = {
        "caller": meta.get("caller") or None,
        "callee": meta.get("callee") or None,
        "direction": _direction(meta.get("direction")),
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "status": "completed" if status in _UNFINISHED else status,
        "metrics": _metrics(call, turns),
    }
    for key in ("recording_path", "trace_id"):
        if meta.get(key):
            data[key] = meta[key]
    cid = call.call_id
    return {"id": event_id(cid, "call_end"), "type": "call_end", "call_id": cid, "ts": call.ended_at, "data": data}


def call_log_events(
    call: CallLog, turn_rows: list[tuple[int, dict[str, Any]]], op_rows: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """A whole call-log directory -> its events in order: start, turns, events, end (if ended)."""
    events = [start_event(call)]
    events += [turn_event(call, n, row) for n, row in turn_rows]
    events += [op_event(call, n, row) for n, row in op_rows]
    if call.ended:
        events.append(end_event(call, [_turn_of(row) for _, row in turn_rows]))
    return events


def validated(
    raw: list[dict[str, Any]], *, now: float
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Validate raw events; returns (good events, [(bad event, why)])."""
    good: list[dict[str, Any]] = []
    bad: list[tuple[dict[str, Any], str]] = []
    for ev in raw:
        try:
            good.append(validate_event(ev, now=now))
        except EventValidationError as e:
            first = e.detail[0] if isinstance(e.detail, list) and e.detail else e.detail
            why = f"{first['loc']}: {first['msg']}" if isinstance(first, dict) and first.get("loc") else first
            why = why.get("msg", why) if isinstance(why, dict) else why
            bad.append((ev, f"{ev.get('type')} {ev.get('id')}: {why}"))
    return good, bad


# -- export records and native events --------------------------------------------


def record_kind(item: Any) -> str:
    """What an export item is: 'record' (a call), 'event' (native), 'turn' (per-turn row) or 'unknown'."""
    if not isinstance(item, dict) or not isinstance(item.get("call_id"), str) or not item["call_id"]:
        return "unknown"
    if item.get("type") in EVENT_TYPES and isinstance(item.get("data"), dict):
        return "event"
    if "turn_index" in item and "user_text" in item:
        return "turn"
    if any(k in item for k in ("ended_at", "started_at", "metrics", "transcript")):
        return "record"
    return "unknown"


def native_event(item: dict[str, Any]) -> dict[str, Any]:
    """A native event from an export or replay dump; a missing id becomes a hash of its content."""
    ev: dict[str, Any] = {k: item[k] for k in ("id", "type", "call_id", "ts", "data") if k in item}
    if not ev.get("id"):
        digest = hashlib.sha256(orjson.dumps(ev, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
        ev["id"] = f"import:{digest}"
    return ev


def _timeline(record: dict[str, Any], cid: str, started: float) -> list[dict[str, Any]]:
    """A record's live turns and in-call events as turn_complete and call_event events."""
    events: list[dict[str, Any]] = []
    for n, turn in enumerate(t for t in record.get("turns") or [] if isinstance(t, dict)):
        ts = _epoch(turn.get("timestamp")) or started
        data: dict[str, Any] = {"turn": turn}
        events.append({"id": event_id(cid, "turn", n), "type": "turn_complete", "call_id": cid, "ts": ts, "data": data})
    for n, op in enumerate(e for e in record.get("events") or [] if isinstance(e, dict)):
        data = {"kind": op.get("kind") or "event", "name": op.get("name") or "", "detail": op.get("detail") or {}}
        ts = _epoch(op.get("ts")) or started
        events.append({"id": event_id(cid, "event", n), "type": "call_event", "call_id": cid, "ts": ts, "data": data})
    return events


def _said_lines(record: dict[str, Any], cid: str, started: float) -> list[dict[str, Any]]:
    """A record's transcript as transcript_line events, each at its own time (a call that never ended normally)."""
    events = []
    for n, line in enumerate(x for x in record.get("transcript") or [] if isinstance(x, dict)):
        data = {"role": line.get("role"), "text": line.get("text"), "turnIndex": line.get("turnIndex")}
        ts = _epoch(line.get("timestamp")) or started
        events.append(
            {"id": event_id(cid, "line", n), "type": "transcript_line", "call_id": cid, "ts": ts, "data": data}
        )
    return events


def record_events(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A completed call record (patterdash or Patter SDK export) -> the events that fold back into it.

    A record with metrics ended with a ``call_end`` (its transcript and metrics inside); one without
    (busy, no-answer, lost before any end) ended on its terminal status, so it gets that ``call_status``
    back, with the status's extras (``reason``, ``sip_code``...), and its lines at their own times.
    """
    cid = record["call_id"]
    ended = _epoch(record.get("ended_at"))
    if ended is None:
        raise Malformed("no readable ended_at: not a completed call")
    metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else None
    started = _epoch(record.get("started_at")) or ended - float((metrics or {}).get("duration_seconds") or 0)
    caller, callee = record.get("caller") or "", record.get("callee") or ""
    direction = _direction(record.get("direction"))
    status = record.get("status") or None
    start = {"caller": caller, "callee": callee, "direction": direction}
    events = [
        {"id": event_id(cid, "call_start"), "type": "call_start", "call_id": cid, "ts": started, "data": start},
        *_timeline(record, cid, started),
    ]
    extras = {
        k: v for k, v in record.items() if k not in RECORD_KEYS
    }  # the rest are call_status extras (reason, sip_code, ...)
    ends_on_status = metrics is None and status in TERMINAL_STATUSES
    if extras or ends_on_status:
        data = {"status": status or "completed", **extras}
        events.append({"id": event_id(cid, "status"), "type": "call_status", "call_id": cid, "ts": ended, "data": data})
    if ends_on_status:
        return events[:1] + _said_lines(record, cid, started) + events[1:]
    end: dict[str, Any] = {
        "caller": caller or None,
        "callee": callee or None,
        "direction": direction,
        "started_at": started,
        "ended_at": ended,
        "status": status,
    }
    if isinstance(record.get("transcript"), list):
        end["transcript"] = [line for line in record["transcript"] if isinstance(line, dict)]
    if metrics is not None:
        end["metrics"] = metrics
    events.append({"id": event_id(cid, "call_end"), "type": "call_end", "call_id": cid, "ts": ended, "data": end})
    return events
