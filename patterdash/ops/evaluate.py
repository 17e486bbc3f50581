"""The alert state machine: inactive -> pending -> firing -> resolved, as a pure step function."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from patterdash.core.events import LoggedEvent
from patterdash.ops.rules import Rule

__all__ = ["AlertState", "Transition", "restore", "step", "transition_event"]

Phase = Literal["inactive", "pending", "firing"]
Transition = Literal["fired", "resolved"]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class AlertState:
    """Where one rule stands; ``last_seq`` is the seq of its newest alert event in the log."""

    phase: Phase = "inactive"
    since: float | None = None  # the condition has held since (pending or firing)
    last_true: float | None = None  # the last evaluation at which it held
    fired_at: float | None = None
    fired_seq: int | None = None
    last_seq: int = 0
    value: float | None = None
    samples: int = 0
    evaluated_at: float | None = None


def holds(rule: Rule, value: float | None, samples: int) -> bool:
    """Whether the condition holds: a value, enough samples, and the comparison true."""
    if value is None or (rule.min_samples is not None and samples < rule.min_samples):
        return False
    return _OPS[rule.op](value, rule.threshold)


def step(
    rule: Rule, state: AlertState, value: float | None, samples: int, now: float
) -> tuple[AlertState, Transition | None]:
    """One evaluation at ``now``: the new state, and "fired"/"resolved" when an event is due."""
    state = replace(state, value=value, samples=samples, evaluated_at=now)
    true = holds(rule, value, samples)
    if state.phase == "firing":
        if true:
            return replace(state, last_true=now), None
        if now - (state.last_true if state.last_true is not None else now) >= rule.keep_firing_for:
            return replace(state, phase="inactive", since=None), "resolved"
        return state, None
    if not true:
        return replace(state, phase="inactive", since=None), None
    since = state.since if state.phase == "pending" and state.since is not None else now
    if now - since >= rule.for_:
        return replace(state, phase="firing", since=since, last_true=now, fired_at=now), "fired"
    return replace(state, phase="pending", since=since, last_true=now), None


def transition_event(
    rule: Rule, state: AlertState, kind: Transition, *, now: float, reason: str = ""
) -> dict[str, Any]:
    """The event to append for a transition.

    Its id derives from the rule's previous alert event, so two evaluators that read the same
    log write the same id and the log keeps one of them (idempotent append).
    """
    value = round(state.value, 6) if state.value is not None else None
    shown = "no data" if value is None else f"{value:g}"
    if kind == "fired":
        data: dict[str, Any] = {
            "rule": rule.name,
            "metric": rule.metric,
            "op": rule.op,
            "threshold": rule.threshold,
            "value": value,
            "samples": state.samples,
            "window": rule.window,
            "since": state.since,
            "severity": rule.severity,
            "summary": f"{rule.name}: {rule.metric} = {shown} {rule.op} {rule.threshold:g} (n={state.samples})",
        }
    else:
        data = {
            "rule": rule.name,
            "fired_seq": state.fired_seq,
            "fired_at": state.fired_at,
            "value": value,
            "samples": state.samples,
            "reason": reason or "recovered",
            "summary": f"{rule.name} resolved: {rule.metric} = {shown} (n={state.samples})",
        }
    return {
        "id": f"alert:{rule.name}:{kind}:after:{state.last_seq}",
        "type": f"alert_{kind}",
        "call_id": f"alert:{rule.name}",
        "ts": now,
        "data": data,
    }


def restore(events: list[LoggedEvent], *, now: float) -> AlertState:
    """A rule's state from its alert events in the log: firing if the newest one is alert_fired.

    A firing alert restored at start-up counts its condition as true ``now``: after a restart
    it keeps firing (no second notification) and resolves only after ``keep_firing_for``.
    """
    if not events:
        return AlertState()
    last = events[-1]
    if last.type != "alert_fired":
        return AlertState(last_seq=last.seq)
    since = last.data.get("since")
    return AlertState(
        phase="firing",
        since=since if isinstance(since, int | float) else last.ts,
        last_true=now,
        fired_at=last.ts,
        fired_seq=last.seq,
        last_seq=last.seq,
    )
