"""Replay: a call's events as a readable timeline, and re-stamped copies to re-send. Pure; no I/O.

``timeline`` turns the events into frames (offset from the first event, styled
lines) that ``patterdash replay`` prints, paced like the real call.
``restamp`` copies the events under a new call id and new times, so a running
server shows the call again as if it were happening now.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from patterdash.core.events import LoggedEvent

__all__ = ["Frame", "latency_bars", "new_call_id", "restamp", "timeline"]

Line = tuple[str, str]  # (text, rich style)
_BAR_WIDTH = 32
_STAGES = (("STT", ("stt_ms",)), ("LLM first token", ("llm_ttft_ms", "llm_ms")), ("TTS first byte", ("tts_ms",)))
_COST_KEYS = ("stt", "tts", "llm", "telephony")
_SPEAKERS = {"user": ("User", "bold cyan"), "assistant": ("Agent", "bold green")}


@dataclass(frozen=True)
class Frame:
    """What to print when the replay reaches ``offset`` seconds into the call."""

    offset: float
    lines: tuple[Line, ...]


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _clock(offset: float) -> str:
    minutes, seconds = divmod(max(0.0, offset), 60)
    return f"+{int(minutes):02d}:{seconds:04.1f}"


def _money(value: float) -> str:
    return f"${value:.4f}"


def _stage(latency: dict[str, Any], keys: tuple[str, ...]) -> float:
    for key in keys:
        if _num(latency.get(key)) > 0:
            return _num(latency.get(key))
    return 0.0


def _total(latency: dict[str, Any]) -> float:
    return _num(latency.get("total_ms")) or _num(latency.get("agent_response_ms"))


def latency_bars(latency: dict[str, Any], *, scale_ms: float, width: int = _BAR_WIDTH) -> list[Line]:
    """One bar per stage (STT / LLM first token / TTS first byte / total), drawn to ``scale_ms``."""
    rows = [(label, _stage(latency, keys)) for label, keys in _STAGES]
    rows.append(("total", _total(latency)))
    out = []
    for label, value in rows:
        cells = 0 if value <= 0 else max(1, round(min(value, scale_ms) / scale_ms * width))
        bar = "█" * cells + "·" * (width - cells)
        shown = f"{value:7.0f} ms" if value > 0 else "      — ms"
        out.append((f"           {label:<16}{bar} {shown}", "bold" if label == "total" else "magenta"))
    return out


def _all_turns(events: Sequence[LoggedEvent]) -> list[dict[str, Any]]:
    """Every turn the events report: live ``turn_complete`` ones and those a ``call_end`` carries."""
    turns: list[Any] = [e.data.get("turn") for e in events if e.type == "turn_complete"]
    for e in events:
        metrics = e.data.get("metrics") if e.type == "call_end" else None
        if isinstance(metrics, dict):
            turns += metrics.get("turns") or []
    return [t for t in turns if isinstance(t, dict) and isinstance(t.get("latency") or {}, dict)]


class _Render:
    """Renders one event at a time, remembering the running cost and the bar scale."""

    def __init__(self, events: Sequence[LoggedEvent]) -> None:
        totals = [_total(t.get("latency") or {}) for t in _all_turns(events)]
        self.scale = max([1000.0, *totals])
        self.running = dict.fromkeys(_COST_KEYS, 0.0)
        self.first_ts = events[0].ts if events else 0.0

    def head(self, ev: LoggedEvent, text: str, style: str = "") -> Line:
        return (f"{_clock(ev.ts - self.first_ts):>9}  {ev.type:<15} {text}", style)

    def frame(self, ev: LoggedEvent) -> list[Line]:
        data = ev.data
        if ev.type in ("call_initiated", "call_start"):
            verb = "dialing" if ev.type == "call_initiated" else "connected"
            who = f"{data.get('caller') or '?'} → {data.get('callee') or '?'}"
            return [self.head(ev, f"{verb} {who} ({data.get('direction') or '?'})", "bold")]
        if ev.type == "call_status":
            extras = {k: v for k, v in data.items() if k != "status"}
            more = f"  {json.dumps(extras, sort_keys=True)}" if extras else ""
            return [self.head(ev, f"status {data.get('status')}{more}", "yellow")]
        if ev.type == "transcript_line":
            label, style = _SPEAKERS.get(data.get("role", ""), (str(data.get("role")), "bold"))
            return [self.head(ev, f"{label}: {data.get('text', '')}", style)]
        if ev.type == "turn_complete":
            return self.turn(ev)
        if ev.type == "call_event":
            detail = json.dumps(data.get("detail") or {}, sort_keys=True)
            style = "red" if data.get("kind") == "error" else "blue"
            return [self.head(ev, f"{data.get('kind')} {data.get('name') or ''} {detail}".rstrip(), style)]
        if ev.type == "call_end":
            return self.end(ev)
        return [self.head(ev, json.dumps(data, sort_keys=True)[:200])]

    def turn(self, ev: LoggedEvent) -> list[Line]:
        turn = ev.data["turn"]
        lines = [self.head(ev, f"turn {turn.get('turn_index', '?')} latency", "bold magenta")]
        lines += latency_bars(turn.get("latency") or {}, scale_ms=self.scale)
        cost = turn.get("cost")
        if isinstance(cost, dict):
            for key in _COST_KEYS:
                self.running[key] += _num(cost.get(key))
            parts = " ".join(f"{k} {_money(v)}" for k, v in self.running.items())
            total = sum(self.running.values())
            lines.append((f"           running cost {_money(total)}  ({parts})", "green"))
        return lines

    def end(self, ev: LoggedEvent) -> list[Line]:
        data = ev.data
        metrics = data.get("metrics") or {}
        cost = metrics.get("cost") or {}
        turns = metrics.get("turns") or []
        summary = f"ended {data.get('status') or 'completed'} after {_num(metrics.get('duration_seconds')):.1f} s"
        lines = [self.head(ev, f"{summary}, {len(turns)} turn{'' if len(turns) == 1 else 's'}", "bold")]
        if cost:
            parts = " ".join(f"{k} {_money(_num(cost.get(k)))}" for k in _COST_KEYS)
            lines.append((f"           call cost {_money(_num(cost.get('total')))}  ({parts})", "bold green"))
        return lines


def timeline(events: Sequence[LoggedEvent]) -> list[Frame]:
    """The call's events as frames in time order, offsets from the first event.

    A call reported the Patter-SDK way (start, then an end carrying the transcript and turns)
    gets its conversation back: each turn at its own time, with its latency.
    """
    ordered = sorted(events, key=lambda e: e.ts)  # imported calls need not arrive in time order
    render = _Render(ordered)
    frames = [Frame(ev.ts - render.first_ts, tuple(render.frame(ev))) for ev in ordered]
    if not any(ev.type in _TALK for ev in ordered):
        for ev in ordered:
            if ev.type == "call_end":
                frames += _told_at_the_end(ev, ordered, render)
    return sorted(frames, key=lambda f: f.offset)  # stable: same-time frames keep the log's order


_TALK = frozenset({"transcript_line", "turn_complete"})


def _told_at_the_end(end: LoggedEvent, events: Sequence[LoggedEvent], render: _Render) -> list[Frame]:
    """Frames for the turns (else the transcript lines) a ``call_end`` carries, placed in the call's time."""
    metrics = end.data.get("metrics") if isinstance(end.data.get("metrics"), dict) else {}
    turns = [t for t in (metrics or {}).get("turns") or end.data.get("turns") or [] if isinstance(t, dict)]
    transcript = [line for line in end.data.get("transcript") or [] if isinstance(line, dict)]
    items: list[dict[str, Any]] = turns or transcript
    if not items:
        return []
    start = render.first_ts
    span = _num((metrics or {}).get("duration_seconds")) or max(0.0, end.ts - start)
    step = span / (len(items) + 1)
    frames = []
    for n, item in enumerate(items):
        stamp = _num(item.get("timestamp"))
        offset = stamp - start if stamp >= start else (n + 1) * step  # no (or a foreign) time: spread evenly
        lines = _turn_lines(item, offset, render) if turns else [_said(item.get("role"), item.get("text"), offset)]
        frames.append(Frame(offset, tuple(lines)))
    return frames


def _said(role: Any, text: Any, offset: float) -> Line:
    label, style = _SPEAKERS.get(str(role), (str(role), "bold"))
    return (f"{_clock(offset):>9}  {'transcript':<15} {label}: {text or ''}", style)


def _turn_lines(turn: dict[str, Any], offset: float, render: _Render) -> list[Line]:
    lines = []
    if turn.get("user_text"):
        lines.append(_said("user", turn["user_text"], offset))
    if turn.get("agent_text"):
        lines.append(_said("assistant", turn["agent_text"], offset))
    latency = turn.get("latency") if isinstance(turn.get("latency"), dict) else {}
    lines.append((f"{_clock(offset):>9}  {'turn':<15} turn {turn.get('turn_index', '?')} latency", "bold magenta"))
    return lines + latency_bars(latency or {}, scale_ms=render.scale)


def new_call_id(call_id: str) -> str:
    """A fresh id for a re-sent copy of a call."""
    return f"{call_id[:160]}-replay-{uuid.uuid4().hex[:8]}"


def _shift_data(data: dict[str, Any], move: Any, call_id: str) -> dict[str, Any]:
    """Copy of an event's data with its embedded times moved and its call id replaced."""
    out = dict(data)
    for key in ("started_at", "ended_at"):
        if isinstance(out.get(key), int | float):
            out[key] = move(out[key])
    if isinstance(out.get("turn"), dict) and _num(out["turn"].get("timestamp")):
        out["turn"] = {**out["turn"], "timestamp": move(out["turn"]["timestamp"])}
    if isinstance(out.get("transcript"), list):
        out["transcript"] = [
            {**e, "timestamp": move(e["timestamp"])} if _num(e.get("timestamp")) else e for e in out["transcript"]
        ]
    if isinstance(out.get("metrics"), dict):
        metrics = dict(out["metrics"])
        if metrics.get("call_id"):
            metrics["call_id"] = call_id
        metrics["turns"] = [
            {**t, "timestamp": move(t["timestamp"])} if _num(t.get("timestamp")) else t
            for t in metrics.get("turns") or []
        ]
        out["metrics"] = metrics
    return out


def restamp(events: Sequence[LoggedEvent], *, call_id: str, now: float, speed: float) -> list[dict[str, Any]]:
    """Native events for POST /api/events: the call again under ``call_id``, starting at ``now``.

    Gaps are divided by ``speed``; with ``speed`` 0 the copy keeps the original
    gaps and ends at ``now`` (the whole call is sent at once, already over).
    """
    if not events:
        return []
    first, last = events[0].ts, events[-1].ts

    def move(ts: float) -> float:
        if speed <= 0:
            return round(now - (last - ts), 3)
        return round(now + (ts - first) / speed, 3)

    return [
        {
            "id": f"{call_id}:{n:04d}",
            "type": ev.type,
            "call_id": call_id,
            "ts": move(ev.ts),
            "data": _shift_data(ev.data, move, call_id),
        }
        for n, ev in enumerate(events)
        if ev.type != "calls_deleted"
    ]
