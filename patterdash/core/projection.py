"""Projections: the ring buffer, the active calls and the aggregates, as a fold over events.

``Projection.apply`` is the only way state changes. It does no I/O: the service
feeds it events in seq order, and a fresh Projection fed the same calls' events
ends in the same state (tested with generated sequences).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from patterdash.core.aggregates import Aggregates, Contribution, contribution_of, turns_of
from patterdash.core.events import NOT_CALL_EVENT_TYPES, TERMINAL_STATUSES, LoggedEvent, completes_call

__all__ = ["RECORD_KEYS", "CallState", "Projection", "fold_call", "summary_of"]

# A call record's own keys: a call_status's free extras (reason, sip_code, ...) may not overwrite them.
RECORD_KEYS = frozenset(
    {
        "call_id",
        "caller",
        "callee",
        "direction",
        "status",
        "started_at",
        "ended_at",
        "metrics",
        "transcript",
        "turns",
        "events",
        "running_cost",
        "turn_count",
        "transcript_truncated",
    }
)
# The per-call lists a live call grows; each is capped (newest kept) by Projection's limits.
_LISTS = ("transcript", "turns", "events")
_UNBOUNDED = 1 << 62
_LIVE_STATUSES = frozenset({"initiated", "ringing", "queued", "in-progress", "answered"})


@dataclass(eq=False)
class CallState:
    """One call's record (Patter's call-record shape) and its bookkeeping."""

    record: dict[str, Any]
    last_seq: int
    last_ts: float
    completed_seq: int | None = None
    opened_by: str = ""
    line_keys: set[tuple[Any, str]] = field(default_factory=set, repr=False)  # (turnIndex, role) seen
    contribution: Contribution | None = None
    held_bytes: int = 0  # estimated text bytes of transcript, turns and events (see entry_size)
    _full: bytes | None = field(default=None, repr=False)
    _summary: bytes | None = field(default=None, repr=False)

    def touched(self, ev: LoggedEvent) -> None:
        """Note an event on this call; drops the cached JSON."""
        self.last_seq = ev.seq
        self.last_ts = max(self.last_ts, ev.ts)
        self._full = self._summary = None

    def add_line(self, role: str, text: str, timestamp: Any, turn_index: Any) -> None:
        """Append a transcript line unless its (turnIndex, role) is already there (O(1))."""
        if turn_index is not None:
            if (turn_index, role) in self.line_keys:
                return
            self.line_keys.add((turn_index, role))
        line = {"role": role, "text": text, "timestamp": timestamp, "turnIndex": turn_index}
        self.record["transcript"].append(line)
        self.held_bytes += entry_size("transcript", line)

    def bound(self, *, max_lines: int, max_bytes: int) -> None:
        """Keep the newest ``max_lines`` of each list and about ``max_bytes`` in all; flag the record if cut."""
        record, dropped = self.record, 0
        for key in _LISTS:
            extra = len(record[key]) - max_lines
            if extra > 0:
                dropped += self._drop(key, extra)
        while self.held_bytes > max_bytes:
            key = max(_LISTS, key=lambda k: len(record[k]))
            if len(record[key]) <= 1:
                break  # one entry over the cap is kept: it is bounded by the request body cap
            dropped += self._drop(key, max(1, len(record[key]) // 64))
        if dropped:
            record["transcript_truncated"] = True

    def recount(self) -> None:
        """Recompute ``held_bytes`` after a list was replaced wholesale (a call_end's transcript)."""
        record = self.record
        lines = sum(
            len(str(line.get("text", ""))) + 64 if isinstance(line, dict) else entry_size("transcript", line)
            for line in record["transcript"]
        )  # entry_size's transcript rule, inline: a call_end recounts every line
        self.held_bytes = lines + _dumped_size(record["turns"]) + _dumped_size(record["events"])

    def _drop(self, key: str, count: int) -> int:
        items = self.record[key]
        for item in items[:count]:
            self.held_bytes -= entry_size(key, item)
            if key == "transcript" and isinstance(item, dict) and item.get("turnIndex") is not None:
                self.line_keys.discard((item["turnIndex"], item.get("role")))
        del items[:count]
        return count

    def full_json(self) -> bytes:
        """The full record as JSON, serialised once per change."""
        if self._full is None:
            self._full = orjson.dumps(self.record)
        return self._full

    def summary_json(self) -> bytes:
        """The light list shape (no transcript/turns), serialised once per change."""
        if self._summary is None:
            self._summary = orjson.dumps(summary_of(self.record))
        return self._summary


def entry_size(key: str, item: Any) -> int:
    """Bytes a transcript line, turn or call event is counted for against a call's byte cap."""
    if key == "transcript" and isinstance(item, dict):
        return len(str(item.get("text", ""))) + 64
    return len(orjson.dumps(item, default=str)) + 16


def _dumped_size(items: list[Any]) -> int:
    """``sum(entry_size(key, item) for item in items)`` for turns and call events, in one encode:
    a list's compact JSON is its items' joined by commas inside brackets (a call_end's ten
    turns were ten encodes, a fifth of its fold)."""
    if not items:
        return 0
    return len(orjson.dumps(items, default=str)) - 1 - len(items) + 16 * len(items)


def summary_of(record: dict[str, Any]) -> dict[str, Any]:
    """A call record without transcript, turns and events, plus ``turn_count``."""
    out = {k: v for k, v in record.items() if k not in ("transcript", "turns", "events")}
    metrics = record.get("metrics")
    if isinstance(metrics, dict):
        out["metrics"] = {k: v for k, v in metrics.items() if k != "turns"}
    out["turn_count"] = len(turns_of(record))
    return out


def _new_record(call_id: str, ts: float, status: str, direction: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": "",
        "callee": "",
        "direction": direction,
        "status": status,
        "started_at": ts,
        "metrics": None,
        "transcript": [],
        "turns": [],
        "events": [],
    }


def _set_status(record: dict[str, Any], data: dict[str, Any]) -> None:
    """A ``call_status``: the new status and its free extras (reserved keys never overwritten)."""
    record["status"] = data["status"]
    record.update({k: v for k, v in data.items() if k not in RECORD_KEYS})


def _add_call_event(record: dict[str, Any], data: dict[str, Any], ts: float) -> None:
    """A ``call_event`` joins the call's timeline (live or after the call ended)."""
    record["events"].append(
        {"kind": data["kind"], "name": data.get("name", ""), "detail": data.get("detail", {}), "ts": ts}
    )


def _set_recording(record: dict[str, Any], data: dict[str, Any]) -> None:
    """A ``recording_stored``: the call's audio, served at ``/api/dashboard/calls/{id}/recording``."""
    record["recording"] = {
        "url": f"/api/dashboard/calls/{record['call_id']}/recording",
        **{k: data.get(k) for k in ("file", "content_type", "bytes", "started_at")},
    }


def _add_running_cost(record: dict[str, Any], turn: dict[str, Any]) -> None:
    """Sum per-turn ``cost`` extras (if the agent sends them) into a live running cost."""
    cost = turn.get("cost")
    if not isinstance(cost, dict):
        return
    running = record.setdefault("running_cost", {"stt": 0.0, "tts": 0.0, "llm": 0.0, "telephony": 0.0, "total": 0.0})
    for key in running:
        value = cost.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            running[key] = round(running[key] + value, 9)


def _shim_metrics(record: dict[str, Any]) -> dict[str, Any]:
    duration = max(0.0, float(record["ended_at"] - (record.get("started_at") or record["ended_at"])))
    zero = {"total_ms": 0.0}
    return {
        "duration_seconds": duration,
        "turns": [],
        "cost": {"total": 0.0, "stt": 0.0, "tts": 0.0, "llm": 0.0, "telephony": 0.0},
        "latency_avg": zero,
        "latency_p50": zero,
        "latency_p90": zero,
        "latency_p95": zero,
        "latency_p99": zero,
        "provider_mode": "",
    }


def _apply_live(state: CallState, ev: LoggedEvent) -> None:
    """An event on a call in progress."""
    record, data = state.record, ev.data
    if ev.type in ("call_initiated", "call_start"):
        for key in ("caller", "callee"):
            # call_start's non-empty numbers win; call_initiated only fills gaps.
            if data.get(key) and (ev.type == "call_start" or not record[key]):
                record[key] = data[key]
        if ev.type == "call_start":
            if data.get("direction"):
                record["direction"] = data["direction"]
            record["status"] = "in-progress"
    elif ev.type == "call_status":
        _set_status(record, data)
    elif ev.type == "transcript_line":
        if data.get("text"):
            state.add_line(data["role"], data["text"], ev.ts, data.get("turnIndex"))
    elif ev.type == "turn_complete":
        _apply_turn(state, data["turn"], ev.ts)
    elif ev.type == "call_event":
        _add_call_event(record, data, ev.ts)
    elif ev.type == "recording_stored":
        _set_recording(record, data)


def _apply_turn(state: CallState, turn: dict[str, Any], ts: float) -> None:
    """Record a turn and mirror its texts into the transcript (``[interrupted]`` excepted)."""
    state.record["turns"].append(turn)
    state.held_bytes += entry_size("turns", turn)
    _add_running_cost(state.record, turn)
    index = turn.get("turn_index")
    stamp = turn.get("timestamp") or ts
    user, agent = turn.get("user_text") or "", turn.get("agent_text") or ""
    if user:
        state.add_line("user", user, stamp, index)
    if agent and agent != "[interrupted]":
        state.add_line("assistant", agent, stamp, index)


def _fill_end(record: dict[str, Any], ev: LoggedEvent, *, whole: bool) -> None:
    """Merge a call_end into a record: identity, status, transcript, metrics."""
    data = ev.data
    record["ended_at"] = data.get("ended_at") or ev.ts
    for key in ("caller", "callee", "direction"):
        if data.get(key) and not record.get(key):
            record[key] = data[key]
    if whole:
        # A finished call sent whole: identity comes from the payload.
        for key in ("caller", "callee", "direction"):
            if data.get(key):
                record[key] = data[key]
        started = data.get("started_at")
        if not started:
            duration = (data.get("metrics") or {}).get("duration_seconds") or 0
            started = record["ended_at"] - float(duration)
        record["started_at"] = started
    prior = record.get("status")
    if prior in TERMINAL_STATUSES and prior != "lost":
        pass  # an explicit status set during the call survives call_end (a guessed "lost" does not)
    elif data.get("status") and data["status"] not in _LIVE_STATUSES:
        record["status"] = data["status"]
    else:
        record["status"] = "completed"
    if data.get("transcript"):
        record["transcript"] = list(data["transcript"])
    metrics = data.get("metrics")
    if metrics is not None:
        record["metrics"] = metrics
        if not record["turns"] and metrics.get("turns"):
            record["turns"] = list(metrics["turns"])
    elif record.get("metrics") is None:
        record["metrics"] = _shim_metrics(record)


def _open_call(ev: LoggedEvent) -> CallState:
    """A call's state from its first event."""
    data = ev.data
    if ev.type == "call_initiated":
        record = _new_record(ev.call_id, ev.ts, "initiated", data.get("direction") or "outbound")
    else:
        record = _new_record(ev.call_id, ev.ts, "in-progress", data.get("direction") or "inbound")
    return CallState(record=record, last_seq=ev.seq, last_ts=ev.ts, opened_by=ev.type)


def _patch_call(state: CallState, ev: LoggedEvent) -> None:
    """A later event on a completed call: its end, a status, or a call event."""
    record, data = state.record, ev.data
    if ev.type == "call_end":
        _fill_end(record, ev, whole=False)
    elif ev.type == "call_status":
        _set_status(record, data)
    elif ev.type == "call_event":
        _add_call_event(record, data, ev.ts)
    elif ev.type == "recording_stored":
        _set_recording(record, data)


def _bound(state: CallState, ev: LoggedEvent, *, max_lines: int, max_bytes: int) -> None:
    """Hold a bounded tail of a call's lists (the log keeps every event)."""
    if max_bytes >= _UNBOUNDED and max_lines >= _UNBOUNDED:
        return
    record = state.record
    if ev.type == "call_end":
        state.recount()  # its transcript and turns may replace the lists wholesale
    elif ev.type == "call_event" and record["events"]:
        state.held_bytes += entry_size("events", record["events"][-1])
    if (
        state.held_bytes > max_bytes
        or len(record["transcript"]) > max_lines
        or len(record["turns"]) > max_lines
        or len(record["events"]) > max_lines
    ):  # spelled out: a generator over _LISTS was a quarter of this function's cost
        state.bound(max_lines=max_lines, max_bytes=max_bytes)


def _finish(state: CallState, ev: LoggedEvent) -> None:
    """The event that ends a call (terminal status or call_end) closes its record."""
    record = state.record
    record.pop("running_cost", None)
    if ev.type == "call_end":
        _fill_end(record, ev, whole=state.opened_by == "call_end")
    else:
        record["ended_at"] = ev.ts
    state.completed_seq = ev.seq


class Projection:
    """In-memory state: active calls, the ring of completed calls, the aggregates."""

    def __init__(self, *, ring_size: int = 500, max_lines: int = _UNBOUNDED, max_bytes: int = _UNBOUNDED) -> None:
        if ring_size < 1:
            raise ValueError("ring_size must be at least 1")
        self.ring_size = ring_size
        self.max_lines, self.max_bytes = max_lines, max_bytes
        self.active: dict[str, CallState] = {}
        self.ring: dict[str, CallState] = {}
        self._order: list[tuple[int, str]] = []  # (completed_seq, call_id), ascending
        self.aggregates = Aggregates()
        self.last_seq = 0

    # -- the fold -----------------------------------------------------------

    def apply(self, ev: LoggedEvent, *, completed_seq: int | None = None) -> list[str]:
        """Fold one event in. ``completed_seq`` is the log's completion seq for the call.

        Returns the call ids that left the ring because of a deletion (the caller
        may backfill the ring from the log). An event for a call the log shows
        completed earlier but that is no longer held (evicted or deleted) is a
        late patch to history outside the ring: it changes nothing here.
        """
        self.last_seq = max(self.last_seq, ev.seq)
        if ev.type == "calls_deleted":
            return self._apply_deleted(ev)
        if ev.type == "calls_purged":
            return self._apply_purged(ev)
        if ev.type in NOT_CALL_EVENT_TYPES:  # alerts: their stream id is no call
            return []
        state = self.active.get(ev.call_id) or self.ring.get(ev.call_id)
        if state is None:
            if completed_seq is not None and completed_seq < ev.seq:
                return []
            state = self._open(ev)
        state.touched(ev)
        if state.completed_seq is None:
            _apply_live(state, ev)
            if completes_call(ev.type, ev.data):
                self._complete(state, ev)
        else:
            self._apply_patch(state, ev)
        _bound(state, ev, max_lines=self.max_lines, max_bytes=self.max_bytes)
        return []

    def _open(self, ev: LoggedEvent) -> CallState:
        state = _open_call(ev)
        self.active[ev.call_id] = state
        return state

    def _complete(self, state: CallState, ev: LoggedEvent) -> None:
        """Move an active call into the ring (terminal status or call_end)."""
        del self.active[state.record["call_id"]]
        _finish(state, ev)
        self._ring_insert(state)

    def _apply_patch(self, state: CallState, ev: LoggedEvent) -> None:
        """A later event on a completed call in the ring updates its row (and the aggregates) in place."""
        if ev.type in ("call_end", "call_status"):
            self._ring_update(state, lambda: _patch_call(state, ev))
        else:
            _patch_call(state, ev)

    def _apply_deleted(self, ev: LoggedEvent) -> list[str]:
        removed = []
        for call_id in ev.data["call_ids"]:
            state = self.ring.pop(call_id, None)
            if state is None:
                continue  # active calls are never deleted; unknown ids change nothing
            self._order.remove((state.completed_seq, call_id))  # type: ignore[arg-type]
            if state.contribution is not None:
                self.aggregates.remove(state.contribution)
            removed.append(call_id)
        return removed

    def _apply_purged(self, ev: LoggedEvent) -> list[str]:
        """Erased calls leave memory too, live ones included (the log no longer has them)."""
        for call_id in ev.data["call_ids"]:
            self.active.pop(call_id, None)
        return self._apply_deleted(ev)

    # -- the ring -----------------------------------------------------------

    def _ring_insert(self, state: CallState) -> None:
        assert state.completed_seq is not None
        call_id = state.record["call_id"]
        self.ring[call_id] = state
        bisect.insort(self._order, (state.completed_seq, call_id))
        state.contribution = contribution_of(state.record)
        self.aggregates.add(state.contribution)
        while len(self._order) > self.ring_size:
            _, oldest = self._order.pop(0)
            evicted = self.ring.pop(oldest)
            if evicted.contribution is not None:
                self.aggregates.remove(evicted.contribution)

    def _ring_update(self, state: CallState, change: Any) -> None:
        if state.contribution is not None:
            self.aggregates.remove(state.contribution)
        change()
        state.contribution = contribution_of(state.record)
        self.aggregates.add(state.contribution)

    def oldest_completed_seq(self) -> int | None:
        """The completion seq of the oldest call held in the ring."""
        return self._order[0][0] if self._order else None

    def has_room(self) -> int:
        """How many more calls the ring can hold."""
        return self.ring_size - len(self._order)

    # -- readers ------------------------------------------------------------

    def calls(self) -> Iterator[CallState]:
        """Completed calls in the ring, newest first."""
        for _, call_id in reversed(self._order):
            yield self.ring[call_id]

    def get(self, call_id: str) -> CallState | None:
        """A call held in memory, completed or active."""
        return self.ring.get(call_id) or self.active.get(call_id)

    def snapshot(self) -> dict[str, Any]:
        """A comparable picture of the whole state (for tests and diagnostics)."""
        return {
            "ring": [s.record for s in self.calls()],
            "active": {k: v.record for k, v in sorted(self.active.items())},
            "aggregates": self.aggregates.snapshot(active_calls=len(self.active)),
        }


def fold_call(
    events: Iterable[LoggedEvent], *, max_lines: int = _UNBOUNDED, max_bytes: int = _UNBOUNDED
) -> dict[str, Any] | None:
    """One call's record folded from its own events (for calls outside the ring; exports hold all).

    The same fold as ``Projection.apply``, without a ring or aggregates: an export folds one call at a time.
    """
    state: CallState | None = None
    for ev in events:
        if ev.type == "calls_deleted" or ev.type in NOT_CALL_EVENT_TYPES:
            continue
        if state is None:
            state = _open_call(ev)
        state.touched(ev)
        if state.completed_seq is None:
            _apply_live(state, ev)
            if completes_call(ev.type, ev.data):
                _finish(state, ev)
        else:
            _patch_call(state, ev)
        _bound(state, ev, max_lines=max_lines, max_bytes=max_bytes)
    return state.record if state is not None else None
