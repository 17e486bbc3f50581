"""Sliding-window samples drawn from logged events, and the metrics alert rules compare. No I/O."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from patterdash.core.aggregates import turn_latency_ms
from patterdash.core.events import TERMINAL_STATUSES, LoggedEvent
from patterdash.ops.rules import FAILED_STATUSES, Rule

__all__ = ["CallTracker", "Sample", "Window", "measure", "percentile"]

Kind = Literal["start", "turn", "end", "cost"]
_METRIC_KEYS = (
    "provider_mode",
    "stt_provider",
    "tts_provider",
    "llm_provider",
    "telephony_provider",
    "stt_model",
    "tts_model",
    "llm_model",
)
_MAX_CALLS = 50_000  # calls remembered for de-duplication; the oldest are forgotten first


@dataclass(frozen=True)
class Sample:
    """One observation at event time ``ts``: a call started or ended, a turn's latency, a call's cost."""

    ts: float
    kind: Kind
    call_id: str
    value: float
    attrs: dict[str, str]
    status: str = ""


@dataclass
class _Call:
    attrs: dict[str, str] = field(default_factory=dict)
    started: bool = False
    ended: bool = False
    live_turns: bool = False


class CallTracker:
    """Turns events into samples, remembering per call what was already counted (bounded)."""

    def __init__(self) -> None:
        self._calls: OrderedDict[str, _Call] = OrderedDict()

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call()
            if len(self._calls) > _MAX_CALLS:
                self._calls.popitem(last=False)
        else:
            self._calls.move_to_end(call_id)
        return call

    def forget(self, call_ids: set[str]) -> None:
        """Drop what is remembered of erased calls."""
        for call_id in call_ids:
            self._calls.pop(call_id, None)

    def samples(self, ev: LoggedEvent) -> list[Sample]:
        """The samples one event adds (none for events that are not about a call)."""
        if ev.type not in ("call_initiated", "call_start", "turn_complete", "call_status", "call_end"):
            return []
        call = self._call(ev.call_id)
        data = ev.data
        _learn(call.attrs, data)
        out: list[Sample] = []
        if not call.started and ev.type in ("call_initiated", "call_start", "call_end"):
            call.started = True
            out.append(Sample(ev.ts, "start", ev.call_id, 1.0, dict(call.attrs)))
        if ev.type == "turn_complete":
            call.live_turns = True
            turn = data.get("turn")
            latency = turn_latency_ms(turn.get("latency")) if isinstance(turn, dict) else 0.0
            if latency > 0:
                out.append(Sample(ev.ts, "turn", ev.call_id, latency, dict(call.attrs)))
        elif ev.type == "call_status" and data.get("status") in TERMINAL_STATUSES and not call.ended:
            call.ended = True
            out.append(Sample(ev.ts, "end", ev.call_id, 1.0, dict(call.attrs), status=str(data["status"])))
        elif ev.type == "call_end":
            out += self._ended(call, ev)
        return out

    def _ended(self, call: _Call, ev: LoggedEvent) -> list[Sample]:
        metrics = ev.data.get("metrics") if isinstance(ev.data.get("metrics"), dict) else {}
        assert isinstance(metrics, dict)
        attrs = dict(call.attrs)
        out: list[Sample] = []
        if not call.ended:
            call.ended = True
            status = str(ev.data.get("status") or "completed")
            out.append(Sample(ev.ts, "end", ev.call_id, 1.0, attrs, status=status))
        cost = metrics.get("cost")
        total = cost.get("total") if isinstance(cost, dict) else None
        if isinstance(total, int | float) and not isinstance(total, bool):
            out.append(Sample(ev.ts, "cost", ev.call_id, float(total), attrs))
        if not call.live_turns:  # a call sent whole: its turns come only with its call_end
            for turn in metrics.get("turns") or []:
                latency = turn_latency_ms(turn.get("latency")) if isinstance(turn, dict) else 0.0
                if latency > 0:
                    out.append(Sample(ev.ts, "turn", ev.call_id, latency, attrs))
        return out


def _learn(attrs: dict[str, str], data: dict[str, Any]) -> None:
    for key in ("caller", "callee", "direction"):
        if isinstance(data.get(key), str) and data[key]:
            attrs[key] = data[key]
    metrics = data.get("metrics")
    if isinstance(metrics, dict):
        for key in _METRIC_KEYS:
            if isinstance(metrics.get(key), str) and metrics[key]:
                attrs[key] = metrics[key]


class Window:
    """Samples of the last ``span`` seconds (by event time), oldest first."""

    def __init__(self, span: float, *, max_samples: int = 500_000) -> None:
        self.span = span
        self._samples: deque[Sample] = deque(maxlen=max_samples)

    def add(self, samples: Iterable[Sample]) -> None:
        """Add samples (arrival order; event times may be slightly out of order)."""
        self._samples.extend(samples)

    def prune(self, now: float) -> None:
        """Forget samples older than the span."""
        horizon = now - self.span
        while self._samples and self._samples[0].ts < horizon:
            self._samples.popleft()

    def drop(self, call_ids: set[str]) -> None:
        """Forget the samples of erased calls (their attributes hold numbers)."""
        kept = [s for s in self._samples if s.call_id not in call_ids]
        self._samples.clear()
        self._samples.extend(kept)

    def since(self, start: float, end: float) -> Iterator[Sample]:
        """Samples with start <= ts <= end."""
        return (s for s in self._samples if start <= s.ts <= end)

    def __len__(self) -> int:
        return len(self._samples)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as the dashboard's aggregates compute it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def measure(
    rule: Rule, window: Window, now: float, *, active: Iterable[dict[str, str]] = ()
) -> tuple[float | None, int]:
    """(value, samples) of the rule's metric at ``now``; value None when there is nothing to measure."""
    if rule.metric == "active_calls":
        count = sum(1 for attrs in active if rule.matches(attrs))
        return float(count), count
    kind: Kind = {"calls": "start", "failure_rate": "end", "cost_per_hour": "cost"}.get(rule.metric, "turn")  # type: ignore[assignment]
    picked = [s for s in window.since(now - rule.window, now) if s.kind == kind and rule.matches(s.attrs)]
    n = len(picked)
    if rule.metric == "calls":
        return float(n), n
    if rule.metric == "cost_per_hour":
        return sum(s.value for s in picked) * 3600.0 / rule.window, n
    if not picked:
        return None, 0
    if rule.metric == "failure_rate":
        return sum(1 for s in picked if s.status in FAILED_STATUSES) / n, n
    p = float(rule.metric[1:3])  # pNN(turn_latency_ms)
    return percentile([s.value for s in picked], p), n
