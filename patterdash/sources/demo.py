"""The demo simulator: realistic synthetic calls as native events. Pure; no I/O.

``demo_events`` yields events in time order, each with the ``ts`` it is due at.
A sender (``patterdash demo``, ``serve --demo``) posts each one when the wall
clock reaches its ``ts``, through ``POST /api/events`` like a real agent.
Everything is drawn from one ``random.Random(seed)``: the same seed and start
time give the same events. ``speed`` compresses wall time only; what the calls
report (durations, latencies, costs) is what the real calls would report.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

from patterdash.core.events import completes_call
from patterdash.sources.demo_script import AGENT_NUMBERS, AREA_CODES, PRICES, SCENARIOS, Line, Scenario

__all__ = ["CallPlan", "OpenCalls", "demo_events", "plan_call"]

_LATENCY_KEYS = ("stt_ms", "llm_ms", "tts_ms", "total_ms", "llm_ttft_ms", "endpoint_ms", "agent_response_ms")
_FAILED_BEFORE_CONNECT = (("busy", 0.07), ("no-answer", 0.08), ("failed", 0.03))
_PROVIDERS = {
    "provider_mode": "pipeline",
    "stt_provider": "deepgram",
    "stt_model": "nova-3",
    "tts_provider": "elevenlabs",
    "tts_model": "eleven_flash_v2_5",
    "llm_provider": "openai",
    "llm_model": "gpt-4o-mini",
    "telephony_provider": "twilio",
}


def _lognormal(rng: random.Random, median: float, spread: float, lo: float, hi: float) -> float:
    """A latency-like draw: right-skewed around ``median``, clamped to [lo, hi]."""
    return round(min(hi, max(lo, median * math.exp(rng.gauss(0.0, spread)))), 1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(AREA_CODES)}555{rng.randrange(200, 10_000):04d}"


class CallPlan:
    """One simulated call, built as (offset seconds, type, data) steps from its start."""

    def __init__(self, rng: random.Random, call_id: str) -> None:
        self.rng = rng
        self.call_id = call_id
        self.direction = "inbound" if rng.random() < 0.55 else "outbound"
        agent, customer = rng.choice(AGENT_NUMBERS[self.direction]), _phone(rng)
        self.caller, self.callee = (customer, agent) if self.direction == "inbound" else (agent, customer)
        self.scenario: Scenario = rng.choice(SCENARIOS)
        self.steps: list[tuple[float, str, dict[str, Any]]] = []
        self.transcript: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []
        self.at = 0.0
        self.connected_at = 0.0

    def step(self, kind: str, data: dict[str, Any]) -> None:
        """Record one event at the plan's current offset."""
        self.steps.append((round(self.at, 3), kind, data))

    def say(self, role: str, text: str, turn_index: int | None) -> None:
        """A transcript line, and its copy for the final transcript."""
        self.step("transcript_line", {"turnIndex": turn_index, "role": role, "text": text})
        self.transcript.append({"role": role, "text": text, "turnIndex": turn_index, "offset": self.at})

    def build(self) -> list[tuple[float, str, dict[str, Any]]]:
        """Plan the whole call: dial or answer, the turns, the end."""
        ids = {"caller": self.caller, "callee": self.callee, "direction": self.direction}
        if self.direction == "outbound":
            self.step("call_initiated", {**ids, "status": "initiated"})
            self.at += self.rng.uniform(0.4, 1.2)
            self.step("call_status", {"status": "ringing"})
            outcome = self._dial_outcome()
            if outcome != "answered":
                self._end_unanswered(outcome, ids)
                return self.steps
            self.at += self.rng.uniform(3.0, 14.0)
        self.connected_at = self.at
        self.step("call_start", ids)
        self.at += self.rng.uniform(0.5, 1.2)
        self.say("assistant", self.scenario.greeting, None)
        self.at += len(self.scenario.greeting) / 15
        status = self._converse()
        self._end(status, ids)
        return self.steps

    def _dial_outcome(self) -> str:
        draw = self.rng.random()
        for outcome, chance in _FAILED_BEFORE_CONNECT:
            if draw < chance:
                return outcome
            draw -= chance
        return "answered"

    def _end_unanswered(self, outcome: str, ids: dict[str, Any]) -> None:
        self.at += {"busy": 2.5, "no-answer": 25.0, "failed": 1.0}[outcome] * self.rng.uniform(0.6, 1.3)
        self.step(
            "call_status", {"status": outcome, "sip_code": {"busy": 486, "no-answer": 408, "failed": 503}[outcome]}
        )
        self.at += 0.2
        metrics = {"call_id": self.call_id, "duration_seconds": 0.0, "turns": [], **_PROVIDERS}
        metrics["cost"] = {"stt": 0.0, "tts": 0.0, "llm": 0.0, "telephony": 0.0, "total": 0.0}
        metrics["error_code"] = outcome
        self.step("call_end", {**ids, "status": outcome, "transcript": [], "metrics": metrics})

    def _converse(self) -> str:
        lines = self.scenario.lines
        count = len(lines) if self.rng.random() < 0.7 else self.rng.randint(2, len(lines))
        fail_after = self.rng.randrange(1, count) if count > 1 and self.rng.random() < 0.03 else None
        for index, line in enumerate(lines[:count]):
            self._turn(index, line, barge_in=index > 0 and self.rng.random() < 0.1)
            if index == fail_after:
                self.at += self.rng.uniform(1.0, 3.0)
                self.step("call_event", {"kind": "error", "name": "llm_timeout", "detail": {"after_ms": 10_000}})
                return "failed"
        return "completed"

    def _latency(self, user_speech_s: float) -> dict[str, Any]:
        rng = self.rng
        stt = _lognormal(rng, 190, 0.3, 60, 1500)
        endpoint = _lognormal(rng, 280, 0.35, 80, 2000)
        ttft = _lognormal(rng, 420, 0.45, 120, 6000)
        tts = _lognormal(rng, 210, 0.35, 60, 3000)
        return {
            "stt_ms": stt,
            "llm_ms": ttft,
            "tts_ms": tts,
            "total_ms": round(stt + ttft + tts + rng.uniform(15, 60), 1),
            "user_speech_duration_ms": round(user_speech_s * 1000, 1),
            "llm_ttft_ms": ttft,
            "llm_total_ms": round(ttft + _lognormal(rng, 600, 0.4, 100, 8000), 1),
            "endpoint_ms": endpoint,
            "bargein_ms": None,
            "tts_total_ms": None,
            "agent_response_ms": round(endpoint + ttft + tts, 1),
        }

    def _turn(self, index: int, line: Line, *, barge_in: bool) -> None:
        rng = self.rng
        self.at += rng.uniform(0.4, 1.8)
        started = self.at
        speech = max(0.8, len(line.user) / 14 * rng.uniform(0.8, 1.3))
        self.at += speech
        self.say("user", line.user, index)
        latency = self._latency(speech)
        if line.tool:
            self.at += latency["endpoint_ms"] / 1000
            self.step("call_event", {"kind": "tool_call", "name": line.tool, "detail": {"arguments": line.args}})
            self.at += rng.uniform(0.15, 0.9)
            self.step("call_event", {"kind": "tool_result", "name": line.tool, "detail": {"ok": True}})
        self.at += latency["agent_response_ms"] / 1000
        agent_text = line.agent
        if barge_in:
            agent_text = line.agent[: max(8, len(line.agent) * 3 // 5)].rstrip() + "…"
            latency["bargein_ms"] = _lognormal(rng, 240, 0.3, 80, 1200)
        self.say("assistant", agent_text, index)
        self.at += len(agent_text) / 15
        latency["tts_total_ms"] = round(len(agent_text) / 15 * 1000 * rng.uniform(0.6, 0.8), 1)
        if barge_in:
            self.step(
                "call_event", {"kind": "barge_in", "name": "user", "detail": {"bargein_ms": latency["bargein_ms"]}}
            )
        self._complete_turn(index, line.user, agent_text, latency, started)

    def _complete_turn(self, index: int, user: str, agent: str, latency: dict[str, Any], started: float) -> None:
        audio = round(latency["user_speech_duration_ms"] / 1000, 2)
        rate = PRICES[f"{self.direction}_per_minute"]
        tokens_in = 900 + 180 * index
        cost = {
            "stt": audio / 60 * PRICES["stt_per_minute"],
            "tts": len(agent) * PRICES["tts_per_char"],
            "llm": tokens_in * PRICES["llm_input_per_token"] + len(agent) // 4 * PRICES["llm_output_per_token"],
            "telephony": (self.at - started) / 60 * rate,
        }
        cost = {k: round(v, 6) for k, v in cost.items()}
        cost["total"] = round(sum(cost.values()), 6)
        turn = {
            "turn_index": index,
            "user_text": user,
            "agent_text": agent,
            "latency": latency,
            "stt_audio_seconds": audio,
            "tts_characters": len(agent),
            "offset": self.at,
            "cost": cost,
        }
        self.turns.append(turn)
        self.step("turn_complete", {"turn": turn})

    def _end(self, status: str, ids: dict[str, Any]) -> None:
        self.at += self.rng.uniform(0.8, 2.0)
        if status != "completed":
            self.step("call_status", {"status": status, "reason": "llm_timeout"})
            self.at += 0.3
        duration = round(self.at - self.connected_at, 2)
        self.step("call_end", {**ids, "status": status, "transcript": None, "metrics": self._metrics(duration, status)})

    def _metrics(self, duration: float, status: str) -> dict[str, Any]:
        turns = self.turns
        cost = {k: round(sum(t["cost"][k] for t in turns), 6) for k in ("stt", "tts", "llm")}
        cost["telephony"] = round(duration / 60 * PRICES[f"{self.direction}_per_minute"], 6)
        cost["total"] = round(sum(cost.values()), 6)
        cost["llm_cached_savings"] = 0.0
        out: dict[str, Any] = {"call_id": self.call_id, "duration_seconds": duration, "turns": turns, "cost": cost}
        for name, q in (("latency_p50", 0.5), ("latency_p90", 0.9), ("latency_p95", 0.95), ("latency_p99", 0.99)):
            out[name] = {k: _percentile([t["latency"][k] for t in turns], q) for k in _LATENCY_KEYS}
        out["latency_avg"] = {k: round(sum(t["latency"][k] for t in turns) / len(turns), 1) for k in _LATENCY_KEYS}
        out.update(_PROVIDERS)
        out["error_code"] = "llm_timeout" if status == "failed" else ""
        out["context_tokens"] = 900 + 180 * len(turns)
        return out


def plan_call(rng: random.Random, call_id: str, *, start: float, speed: float = 1.0) -> list[dict[str, Any]]:
    """One call's events, due from ``start``; in-call gaps are divided by ``speed``."""
    plan = CallPlan(rng, call_id)
    steps = plan.build()
    events = []
    for n, (offset, kind, data) in enumerate(steps):
        events.append(
            {
                "id": f"{call_id}:{n:03d}",
                "type": kind,
                "call_id": call_id,
                "ts": round(start + offset / speed, 3),
                "data": _stamp(data, plan, start, speed),
            }
        )
    return events


def _stamp(data: dict[str, Any], plan: CallPlan, start: float, speed: float) -> dict[str, Any]:
    """Turn plan offsets into epoch timestamps inside turns and the final transcript."""

    def at(offset: float) -> float:
        return round(start + offset / speed, 3)

    if "turn" in data:
        turn = {k: v for k, v in data["turn"].items() if k != "offset"}
        return {"turn": {**turn, "timestamp": at(data["turn"]["offset"])}}
    if "metrics" not in data:
        return data
    metrics = data["metrics"]
    turns = [{**{k: v for k, v in t.items() if k != "offset"}, "timestamp": at(t["offset"])} for t in metrics["turns"]]
    lines = [{**{k: v for k, v in e.items() if k != "offset"}, "timestamp": at(e["offset"])} for e in plan.transcript]
    return {
        **data,
        "transcript": lines,
        "started_at": at(plan.connected_at if plan.turns else 0.0),
        "ended_at": at(plan.steps[-1][0]),
        "metrics": {**metrics, "turns": turns},
    }


def demo_events(
    *,
    seed: int,
    start: float,
    speed: float = 1.0,
    calls: int | None = None,
    concurrency: int = 4,
    history: int = 0,
) -> Iterator[dict[str, Any]]:
    """Events of ``history`` calls finished before ``start``, then ``calls`` live calls (None: endless).

    About ``concurrency`` calls are in progress at once; the first ones start at once.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    master = random.Random(seed)
    heap: list[tuple[float, int, dict[str, Any]]] = []
    order = itertools.count()
    for begin, rng, call_id in _arrivals(master, start, speed, calls, concurrency, history):
        pace = 1.0 if begin < start else speed
        while heap and heap[0][0] <= begin:
            yield heapq.heappop(heap)[2]
        for ev in plan_call(rng, call_id, start=begin, speed=pace):
            heapq.heappush(heap, (ev["ts"], next(order), ev))
    while heap:
        yield heapq.heappop(heap)[2]


def _arrivals(
    master: random.Random, start: float, speed: float, calls: int | None, concurrency: int, history: int
) -> Iterator[tuple[float, random.Random, str]]:
    """(start time, the call's own rng, call id) of each call, in start order."""
    mean_gap = 45.0 / max(1, concurrency)  # a typical answered call lasts ~45 s

    def one(at: float) -> tuple[float, random.Random, str]:
        rng = random.Random(master.getrandbits(64))
        return at, rng, f"demo_{rng.getrandbits(48):012x}"

    past = start - history * 240.0
    for _ in range(history):
        past += master.uniform(120.0, 240.0)
        yield one(min(past, start - 120.0))
    at = start
    for n in itertools.count():
        if calls is not None and n >= calls:
            return
        yield one(at)
        gap = master.uniform(0.5, 2.0) if n + 1 < concurrency else master.expovariate(1 / mean_gap)
        at += gap / speed


class OpenCalls:
    """Demo calls sent a start but no end yet: what a stopping demo must end, or they stay live for ever."""

    def __init__(self) -> None:
        self._open: dict[str, None] = {}

    def observe(self, sent: list[dict[str, Any]]) -> None:
        """Note a batch the server accepted."""
        for ev in sent:
            if ev["type"] in ("call_initiated", "call_start"):
                self._open[ev["call_id"]] = None
            elif completes_call(ev["type"], ev.get("data") or {}):
                self._open.pop(ev["call_id"], None)

    def endings(self, *, now: float) -> list[dict[str, Any]]:
        """A ``canceled`` status for each call still open (ids fixed per call: re-sending is harmless)."""
        return [
            {
                "id": f"demo-stopped:{call_id}",
                "type": "call_status",
                "call_id": call_id,
                "ts": now,
                "data": {"status": "canceled", "reason": "demo stopped"},
            }
            for call_id in self._open
        ]
