"""A seeded week of realistic call history for the browser tests and the screenshots.

``generate(now)`` draws calls over the last ``days`` days (more by day than by night), with a
mix of outcomes, directions, agents and provider modes, per-component costs and per-turn
STT/LLM/TTS latencies, and a deploy at 14:00 UTC two days before ``now`` from which every
turn is twice as slow (turn latency P95 ~800 ms -> ~1,600 ms). The same seed and ``now``
always give the same log. ``load`` writes it as an NDJSON events file and appends it with
``patterdash import`` (the product's own path) before a server starts on that log. The
``Expected`` helpers say what the history, list and charts must show for a window, computed
from the generated calls rather than hard-coded.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

DAY = 86400
HOUR = 3600
MICRO = 1_000_000
OUTCOMES = ("completed", "failed", "no_answer", "lost")  # as the history counts them
OUTCOME_OF = {"no-answer": "no_answer", "busy": "no_answer"} | {o: o for o in ("completed", "failed", "lost")}
COSTS = ("stt", "tts", "llm", "telephony")
STALE_AFTER = 2 * HOUR  # the server closes a silent call as lost after this long (SPEC §3)
LINE = "+18005550100"  # the agents' own number
# (agent, direction, provider mode, weight): who takes or makes the calls
AGENTS = (
    ("reservations", "inbound", "pipeline", 0.45),
    ("support", "inbound", "openai_realtime", 0.2),
    ("support", "inbound", "pipeline", 0.05),
    ("reminders", "outbound", "pipeline", 0.2),
    ("sales", "outbound", "elevenlabs_convai", 0.1),
)
PROVIDERS = {
    "pipeline": {"stt_provider": "deepgram", "llm_provider": "openai", "tts_provider": "elevenlabs"},
    "openai_realtime": {"stt_provider": "", "llm_provider": "openai", "tts_provider": ""},
    "elevenlabs_convai": {"stt_provider": "", "llm_provider": "elevenlabs", "tts_provider": "elevenlabs"},
}
DIALOGUE = {
    "reservations": [
        ("Hi, I'd like a table for four on Friday.", "Of course. What time would suit you?"),
        ("Half past seven if you can.", "I have 7:30 in the garden room. Shall I book it?"),
        ("Yes, under Moreau please.", "Booked: four at 7:30 on Friday under Moreau."),
        ("Can we bring a dog?", "Dogs are welcome on the terrace, I've added a note."),
    ],
    "support": [
        ("My order hasn't arrived yet.", "Sorry about that. Could you read me the order number?"),
        ("It's 4 4 1 9 2.", "Thanks. It left the depot this morning and arrives by six."),
        ("Can I change the address?", "I can redirect it to a pickup point near you."),
        ("The one on Elm Street.", "Done: it will wait at Elm Street for seven days."),
    ],
    "reminders": [
        ("Hello?", "Hi, this is Dr. Patel's office reminding you of tomorrow's 10 am visit."),
        ("Oh right, thanks.", "Will you be able to make it?"),
        ("Could we move it to the afternoon?", "I have 3:15 tomorrow. Would that work?"),
        ("Perfect.", "You're booked for 3:15 tomorrow. See you then!"),
    ],
    "sales": [
        ("Who's calling?", "Hi, it's Nadia from Brightline Solar about your quote request."),
        ("Ah yes, I asked last week.", "Great. Is the roof facing south or west?"),
        ("Mostly south.", "Then a 6 kW system would cover most of your usage."),
        ("Send me the details by email.", "Will do. You'll have it within the hour."),
    ],
}


@dataclass(frozen=True)
class Call:
    """One generated call: what it is, and what the dashboard must count for it."""

    call_id: str
    started_at: float
    status: str
    direction: str
    agent: str
    mode: str
    caller: str
    callee: str
    duration: float
    turn_ms: tuple[float, ...]  # each turn's agent_response_ms, the latency the history counts
    costs: tuple[float, float, float, float]  # stt, tts, llm, telephony in dollars (6 decimals)

    @property
    def outcome(self) -> str:
        return OUTCOME_OF[self.status]

    @property
    def minute(self) -> int:
        """The start of the minute holding the call's start (the history's finest grain)."""
        return int(self.started_at // 60) * 60


@dataclass(frozen=True)
class History:
    """The generated log: its calls (oldest first), the deploy hour and the anchor time."""

    now: float
    deploy_at: float
    calls: tuple[Call, ...]

    def events(self) -> Iterator[dict[str, Any]]:
        """Every call's native events, call after call in start order."""
        for call in self.calls:
            yield from call_events(call)

    def in_window(self, lo: float, hi: float) -> list[Call]:
        """The calls a history answer for the minute-aligned window [lo, hi) counts."""
        return [c for c in self.calls if lo <= c.minute < hi]

    def listed(self, lo: float | None, hi: float | None = None) -> list[Call]:
        """The calls the list route keeps for from/to (by started_at, both ends inclusive), newest first."""
        kept = [c for c in self.calls if (lo is None or c.started_at >= lo) and (hi is None or c.started_at <= hi)]
        return sorted(kept, key=lambda c: c.started_at, reverse=True)


@dataclass
class Expected:
    """What the history shows for a set of calls: counts, costs and turn-latency percentiles."""

    calls: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    cost_us: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COSTS, 0))
    turns: list[float] = field(default_factory=list)

    def add(self, call: Call) -> None:
        self.calls += 1
        self.outcomes[call.outcome] += 1
        for key, value in zip(COSTS, call.costs, strict=True):
            self.cost_us[key] += round(value * MICRO)
        self.turns.extend(call.turn_ms)

    @property
    def total_cost(self) -> float:
        return sum(self.cost_us.values()) / MICRO

    def cost(self, key: str) -> float:
        return self.cost_us[key] / MICRO

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile over every turn (what the history's histogram approximates)."""
        if not self.turns:
            return 0.0
        ordered = sorted(self.turns)
        return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1]


def expected(calls: Iterable[Call]) -> Expected:
    """The totals of some calls."""
    out = Expected()
    for call in calls:
        out.add(call)
    return out


def series(history: History, lo: int, hi: int, bucket: int) -> dict[int, Expected]:
    """Per-bucket totals of the window [lo, hi) (UTC multiples of ``bucket``, empty ones included)."""
    points = {t: Expected() for t in range((lo // bucket) * bucket, hi, bucket)}
    for call in history.in_window(lo, hi):
        points[(call.minute // bucket) * bucket].add(call)
    return points


# ---------------------------------------------------------------- drawing calls


def _busyness(t: float) -> float:
    """Relative call rate at a UTC moment: quiet nights, a daytime hump, calmer weekends."""
    hour = (t % DAY) / HOUR
    day = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour - 6) / 15)) if 6 <= hour <= 21 else 0.25
    weekday = int(t // DAY + 3) % 7  # 1970-01-01 was a Thursday: 5 and 6 are the weekend
    return day * (0.6 if weekday >= 5 else 1.0)


def _start_times(rng: random.Random, lo: float, hi: float, count: int) -> list[float]:
    """``count`` start times in [lo, hi) following ``_busyness`` (rejection sampling)."""
    times: list[float] = []
    while len(times) < count:
        t = rng.uniform(lo, hi)
        if rng.random() < _busyness(t):
            times.append(round(t, 3))
    return sorted(times)


def _status(rng: random.Random, direction: str, start: float, now: float) -> str:
    r = rng.random()
    if direction == "outbound" and r < 0.16:
        return "no-answer" if r < 0.11 else "busy"
    if r > 0.95:
        return "failed"
    # a call goes quiet and is closed as lost two hours later: only older calls can be lost yet
    if r > 0.92 and start < now - STALE_AFTER - HOUR:
        return "lost"
    return "completed"


def _turn_count(rng: random.Random, status: str) -> int:
    if status in ("no-answer", "busy"):
        return 0
    if status == "failed":
        return rng.choice((0, 1, 1, 2))
    if status == "lost":
        return rng.randint(1, 3)
    return rng.choice((2, 3, 3, 4, 4, 4, 5, 5, 6, 8))


def _turn_latency(rng: random.Random, *, regressed: bool) -> float:
    """A turn's agent_response_ms: 420-840 ms (P95 ~800); the deploy doubles every turn's."""
    ms = 420.0 + 420.0 * rng.random() ** 2
    return round(ms * 2 if regressed else ms, 1)


def _costs(mode: str, duration: float, turns: int, chars: int) -> tuple[float, float, float, float]:
    """Per-component dollars: per-minute STT and telephony, per-character TTS, per-turn LLM."""
    minutes = duration / 60
    if mode == "pipeline":
        stt, tts, llm = 0.0043 * minutes, 0.00003 * chars, 0.00061 * turns
    elif mode == "openai_realtime":
        stt, tts, llm = 0.0, 0.0, 0.0060 * minutes + 0.0009 * turns
    else:
        stt, tts, llm = 0.0, 0.00005 * chars, 0.0080 * minutes
    telephony = 0.0140 * math.ceil(minutes) if duration > 0 else 0.0
    return (round(stt, 6), round(tts, 6), round(llm, 6), round(telephony, 6))


def _number(rng: random.Random) -> str:
    return f"+1{rng.choice(('415', '212', '646', '312', '617', '206'))}555{rng.randint(0, 9999):04d}"


def _draw_call(rng: random.Random, index: int, start: float, history_now: float, deploy_at: float) -> Call:
    agent, direction, mode = rng.choices([a[:3] for a in AGENTS], weights=[a[3] for a in AGENTS])[0]
    status = _status(rng, direction, start, history_now)
    turns = _turn_count(rng, status)
    lat = tuple(_turn_latency(rng, regressed=start >= deploy_at) for _ in range(turns))
    said = DIALOGUE[agent]
    chars = sum(len(said[i % len(said)][1]) for i in range(turns))
    duration = 0.0 if status in ("no-answer", "busy", "lost") else round(8.0 + 9.5 * turns + rng.uniform(0, 12), 2)
    costs = (0.0, 0.0, 0.0, 0.0) if status == "lost" else _costs(mode, duration, turns, chars)
    other = _number(rng)
    caller, callee = (other, LINE) if direction == "inbound" else (LINE, other)
    return Call(f"gen-{index:05d}", start, status, direction, agent, mode, caller, callee, duration, lat, costs)


def generate(now: float, *, days: int = 7, calls: int = 3200, seed: int = 14) -> History:
    """``calls`` calls over the ``days`` days before ``now`` (a 30 min margin at the old end)."""
    rng = random.Random(seed)
    deploy_at = float((int(now) // DAY - 2) * DAY + 14 * HOUR)
    starts = _start_times(rng, now - days * DAY + 1800, now - 300, calls)
    drawn = tuple(_draw_call(rng, i, t, now, deploy_at) for i, t in enumerate(starts))
    return History(now=now, deploy_at=deploy_at, calls=drawn)


# ---------------------------------------------------------------- events


def _latency(total: float) -> dict[str, Any]:
    """A turn's breakdown summing to ``total``: the LLM's first token is most of it."""
    stt, tts = round(total * 0.22, 1), round(total * 0.18, 1)
    ttft = round(total - stt - tts - 35.0, 1)
    return {
        "stt_ms": stt,
        "llm_ms": round(ttft + 160.0, 1),
        "tts_ms": tts,
        "total_ms": total,
        "user_speech_duration_ms": 1500.0,
        "llm_ttft_ms": ttft,
        "llm_total_ms": round(ttft + 380.0, 1),
        "endpoint_ms": 200.0,
        "bargein_ms": None,
        "tts_total_ms": round(tts + 850.0, 1),
        "agent_response_ms": total,
    }


def _turns(call: Call) -> list[dict[str, Any]]:
    said = DIALOGUE[call.agent]
    out = []
    for i, ms in enumerate(call.turn_ms):
        user, agent = said[i % len(said)]
        out.append(
            {
                "turn_index": i,
                "user_text": user,
                "agent_text": agent,
                "latency": _latency(ms),
                "stt_audio_seconds": 1.6,
                "tts_characters": len(agent),
                "timestamp": round(call.started_at + 4 + 9.5 * i, 3),
            }
        )
    return out


def _summary(turns: list[dict[str, Any]], pick: str) -> dict[str, Any]:
    lats = [t["latency"] for t in turns]
    if not lats:
        return {"total_ms": 0.0}
    out: dict[str, Any] = {}
    for key in ("stt_ms", "llm_ms", "tts_ms", "total_ms", "llm_ttft_ms", "agent_response_ms"):
        values = sorted(float(x[key]) for x in lats)
        out[key] = round(sum(values) / len(values), 1) if pick == "avg" else values[int(0.95 * (len(values) - 1))]
    return out


def _metrics(call: Call, turns: list[dict[str, Any]]) -> dict[str, Any]:
    cost = dict(zip(COSTS, call.costs, strict=True))
    return {
        "call_id": call.call_id,
        "duration_seconds": call.duration,
        "turns": turns,
        "cost": {**cost, "total": round(sum(call.costs), 6), "llm_cached_savings": 0.0},
        "latency_avg": _summary(turns, "avg"),
        "latency_p50": _summary(turns, "avg"),
        "latency_p90": _summary(turns, "p95"),
        "latency_p95": _summary(turns, "p95"),
        "latency_p99": _summary(turns, "p95"),
        "provider_mode": call.mode,
        **PROVIDERS[call.mode],
        "telephony_provider": "twilio",
        "llm_model": "gpt-4o-mini" if call.mode == "pipeline" else "",
        "error_code": "llm_timeout" if call.status == "failed" else "",
        "agent": call.agent,
    }


def call_events(call: Call) -> list[dict[str, Any]]:
    """One call as the SDK would have sent it: start, (for lost calls) live turns, then how it ended."""
    ident = {"caller": call.caller, "callee": call.callee, "direction": call.direction}
    turns = _turns(call)
    first = "call_initiated" if call.status in ("no-answer", "busy") else "call_start"
    events = [{"type": first, "data": {**ident, "agent": call.agent}, "ts": call.started_at}]
    if call.status == "lost":
        events += [{"type": "turn_complete", "data": {"turn": t}, "ts": t["timestamp"]} for t in turns]
        last = turns[-1]["timestamp"] if turns else call.started_at
        reason = f"no event for {STALE_AFTER} s"
        events.append({"type": "call_status", "data": {"status": "lost", "reason": reason}, "ts": last + STALE_AFTER})
    else:
        transcript = [
            {"role": role, "text": text, "turnIndex": t["turn_index"], "timestamp": t["timestamp"]}
            for t in turns
            for role, text in (("user", t["user_text"]), ("assistant", t["agent_text"]))
        ]
        ended = round(call.started_at + max(call.duration, 25.0 if first == "call_initiated" else 0.0), 3)
        end: dict[str, Any] = {"metrics": _metrics(call, turns), "transcript": transcript}
        if call.status != "completed":
            end["status"] = call.status
        events.append({"type": "call_end", "data": end, "ts": ended})
    return [{"id": f"{call.call_id}:{n}", "call_id": call.call_id, **ev} for n, ev in enumerate(events)]


def write_ndjson(history: History, path: Path) -> Path:
    """The log as an NDJSON events file (what ``patterdash export --format events`` writes)."""
    with path.open("wb") as out:
        for ev in history.events():
            out.write(orjson.dumps(ev) + b"\n")
    return path


def load(history: History, db: Path) -> None:
    """Append the history to the log at ``db`` with ``patterdash import`` (before the server starts)."""
    path = write_ndjson(history, db.parent / "history.ndjson")
    cmd = [sys.executable, "-m", "patterdash", "import", str(path), "--db", str(db), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"patterdash import failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    summary = orjson.loads(done.stdout.strip().splitlines()[-1])
    if summary["imported"] != len(history.calls) or summary["errors"]:
        raise RuntimeError(f"patterdash import took {summary['imported']} of {len(history.calls)} calls: {summary}")
