"""Incremental aggregates over the ring buffer: add or remove one call in O(log n)."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["OUTCOMES", "Aggregates", "Contribution", "contribution_of", "outcome_of", "turn_latency_ms", "turns_of"]

_COST_KEYS = ("stt", "tts", "llm", "telephony")
# How a call ended, as the metrics row splits it: a busy or unanswered call is not "completed".
OUTCOMES = ("completed", "failed", "no_answer", "lost")
_OUTCOME_OF_STATUS = {"completed": "completed", "lost": "lost", "no-answer": "no_answer", "busy": "no_answer"}


def outcome_of(status: Any) -> str:
    """The outcome a final status counts as; anything else terminal (timeout, canceled...) is a failure."""
    return _OUTCOME_OF_STATUS.get(status, "failed") if isinstance(status, str) else "failed"


@dataclass(frozen=True)
class Contribution:
    """What one completed call adds to the aggregates."""

    # Sums are kept in integer micro-units so that adding and removing calls is
    # exact: a live ring equals a rebuilt one to the last digit.
    cost_total: int
    costs: tuple[int, int, int, int]
    duration: int
    latency_ms: int  # 0 means "no latency known": excluded from the average
    turn_latencies: tuple[float, ...]
    outcome: str = "completed"


_MICRO = 1_000_000


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _micro(value: Any) -> int:
    scaled = _num(value) * _MICRO
    # a finite but huge value (1e308) overflows here; it must not poison the fold
    return round(scaled) if math.isfinite(scaled) else 0


def turn_latency_ms(latency: dict[str, Any] | None) -> float:
    """The user-perceived latency of a turn: agent_response_ms, else total_ms."""
    if not latency:
        return 0.0
    return _num(latency.get("agent_response_ms")) or _num(latency.get("total_ms"))


def turns_of(record: dict[str, Any]) -> list[Any]:
    """A call's turns: the final metrics' when it has them, else those recorded live."""
    metrics = record.get("metrics")
    return (isinstance(metrics, dict) and metrics.get("turns")) or record.get("turns") or []


def contribution_of(record: dict[str, Any]) -> Contribution:
    """A completed call record's contribution (pure)."""
    metrics = record.get("metrics") or {}
    cost = metrics.get("cost") or {}
    latencies = tuple(
        lat for t in turns_of(record) if isinstance(t, dict) and (lat := turn_latency_ms(t.get("latency"))) > 0
    )
    return Contribution(
        cost_total=_micro(cost.get("total")),
        costs=tuple(_micro(cost.get(k)) for k in _COST_KEYS),  # type: ignore[arg-type]
        duration=_micro(metrics.get("duration_seconds")),
        latency_ms=_micro(turn_latency_ms(metrics.get("latency_avg"))),
        turn_latencies=latencies,
        outcome=outcome_of(record.get("status")),
    )


class Aggregates:
    """Running sums and a sorted multiset of turn latencies; reads never scan calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.cost_total = 0
        self.costs = [0, 0, 0, 0]
        self.duration = 0
        self.latency_sum = 0
        self.latency_n = 0
        self._turns: list[float] = []
        self.outcomes = dict.fromkeys(OUTCOMES, 0)

    def add(self, c: Contribution) -> None:
        """Count a call into the aggregates."""
        self._step(c, +1)
        for lat in c.turn_latencies:
            bisect.insort(self._turns, lat)

    def remove(self, c: Contribution) -> None:
        """Take a call out of the aggregates (eviction, deletion or update)."""
        self._step(c, -1)
        for lat in c.turn_latencies:
            i = bisect.bisect_left(self._turns, lat)
            if i < len(self._turns) and self._turns[i] == lat:
                del self._turns[i]

    def _step(self, c: Contribution, sign: int) -> None:
        self.calls += sign
        self.cost_total += sign * c.cost_total
        for i, v in enumerate(c.costs):
            self.costs[i] += sign * v
        self.duration += sign * c.duration
        self.outcomes[c.outcome] += sign
        if c.latency_ms > 0:
            self.latency_sum += sign * c.latency_ms
            self.latency_n += sign

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of turn latency (0 when there are no turns)."""
        if not self._turns:
            return 0.0
        rank = max(1, -(-len(self._turns) * p // 100))
        return self._turns[int(rank) - 1]

    def snapshot(self, *, active_calls: int) -> dict[str, Any]:
        """The aggregates object of SPEC §3."""
        n = self.calls
        return {
            "total_calls": n,
            "total_cost": round(self.cost_total / _MICRO, 6),
            "avg_duration": round(self.duration / _MICRO / n, 2) if n else 0.0,
            "avg_latency_ms": (round(self.latency_sum / _MICRO / self.latency_n, 1) if self.latency_n else 0.0),
            "cost_breakdown": {k: round(v / _MICRO, 6) for k, v in zip(_COST_KEYS, self.costs, strict=True)},
            "active_calls": active_calls,
            "outcomes": dict(self.outcomes),
            "latency_percentiles": {
                "p50": round(self.percentile(50), 1),
                "p95": round(self.percentile(95), 1),
                "p99": round(self.percentile(99), 1),
                "n": len(self._turns),
            },
        }
