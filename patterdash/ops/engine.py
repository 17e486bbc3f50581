"""The alert evaluator: follows the log, evaluates every rule each tick, appends transitions, notifies.

It runs beside the service as background tasks. It reads events from the log (not from the
ingest path), so ingest never waits on it, and rows other processes wrote count too. Firing and
resolving are events appended through the service, so they survive restarts and reach SSE and
exports; webhook deliveries run as their own tasks and never hold up an evaluation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import watchfiles

from patterdash.core.events import LoggedEvent
from patterdash.ops.deliveries import DeliveryLog, delivery_log_path
from patterdash.ops.evaluate import AlertState, Transition, restore, step, transition_event
from patterdash.ops.rules import Rule, RulesError, RuleSet, Target, load_rules
from patterdash.ops.webhooks import Attempt, Sleep, deliver, notification_body
from patterdash.ops.window import CallTracker, Window, measure
from patterdash.service import Service, ServiceStopped
from patterdash.store import LogError

__all__ = ["AlertEngine", "recent_events"]

log = logging.getLogger("patterdash.alerts")
_CHUNK = 2_000
_SEED_CAP = 200_000  # events read back at start to refill the windows (bounded start-up)


class _Reads(Protocol):
    """The log reads the evaluator needs (any store of the contract has them)."""

    def max_seq(self) -> int: ...
    def read_after(self, seq: int, *, limit: int | None = None) -> list[LoggedEvent]: ...


def recent_events(log_: _Reads, horizon: float) -> list[LoggedEvent]:
    """The newest events back to event time ``horizon`` (at most _SEED_CAP), oldest first."""
    upper = log_.max_seq()
    chunks: list[list[LoggedEvent]] = []
    total = 0
    while upper > 0 and total < _SEED_CAP:
        lower = max(0, upper - _CHUNK)
        got = [e for e in log_.read_after(lower, limit=upper - lower) if e.seq <= upper]
        chunks.append(got)
        total += len(got)
        if got and got[0].ts < horizon:
            break
        upper = lower
    return [e for chunk in reversed(chunks) for e in chunk]


class AlertEngine:
    """Rules from one file, their states, the sliding window, and the deliveries in flight."""

    def __init__(self, service: Service, path: Path, *, interval: float = 1.0, sleep: Sleep = asyncio.sleep) -> None:
        self.service = service
        self.path = path
        self.interval = interval
        self.deliveries = DeliveryLog(delivery_log_path(service.settings.db))
        self.ruleset = RuleSet(path=path, rules={}, targets={})
        self.states: dict[str, AlertState] = {}
        self.error: str | None = None
        self.loaded_at: float | None = None
        self.leader = False
        self._sleep = sleep
        self._tracker = CallTracker()
        self._window = Window(0.0)
        self._cursor = 0
        self._disabled: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Load the rules (RulesError when invalid), restore states and windows from the log, start."""
        self._use(load_rules(self.path))
        self._disabled = await asyncio.to_thread(self.deliveries.disabled_refs)
        await self._restore(list(self.ruleset.rules))
        now = self.service.clock()
        horizon = now - self.ruleset.max_window()
        head = await self.service.run_reader(lambda lg: lg.max_seq())
        for ev in await self.service.run_reader(lambda lg: recent_events(lg, horizon)):
            self._window.add(self._tracker.samples(ev))
        self._cursor = head
        self._session = aiohttp.ClientSession()
        self._tasks = [
            asyncio.create_task(self._loop(), name="patterdash-alerts"),
            asyncio.create_task(self._watch(), name="patterdash-alerts-watch"),
        ]

    async def stop(self) -> None:
        """Stop evaluating; deliveries still retrying are cancelled (the delivery log shows where)."""
        for task in [*self._tasks, *self._inflight]:
            task.cancel()
        for task in [*self._tasks, *self._inflight]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    def _use(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._window.span = ruleset.max_window()
        self.loaded_at = self.service.clock()
        self.error = None

    async def _restore(self, names: list[str]) -> None:
        streams = [f"alert:{name}" for name in names]
        events = await self.service.run_reader(lambda lg: lg.events_for_calls(streams))
        by_rule: dict[str, list[LoggedEvent]] = defaultdict(list)
        for ev in events:
            by_rule[ev.call_id.removeprefix("alert:")].append(ev)
        now = self.service.clock()
        for name in names:
            self.states[name] = restore(by_rule.get(name, []), now=now)

    # -- evaluation ---------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                await self.evaluate()
            except asyncio.CancelledError:
                raise
            except Exception:  # the evaluator must survive anything one tick does
                log.exception("alert evaluation failed")
            await asyncio.sleep(self.interval)

    async def evaluate(self) -> None:
        """Read new events, then (on the leading node only) evaluate every rule at the service clock's now."""
        await self._follow()
        # nodes sharing a store elect one (the stale-call leader): the others follow its alert events
        self.leader = await self.service.leads()
        if not self.leader:
            return
        now = self.service.clock()
        self._window.prune(now)
        active = [
            {k: str(v) for k in ("caller", "callee", "direction") if (v := s.record.get(k))}
            for s in self.service.projection.active.values()
        ]
        for rule in list(self.ruleset.rules.values()):
            value, samples = measure(rule, self._window, now, active=active)
            state, transition = step(rule, self.states.get(rule.name, AlertState()), value, samples, now)
            if transition is None:
                self.states[rule.name] = state
            else:  # the new state shows only once its event is in the log
                await self._transition(rule, state, transition, now=now)

    async def _follow(self) -> None:
        while True:
            after = self._cursor
            events = await self.service.read_after(after, limit=_CHUNK)
            for ev in events:
                self._cursor = ev.seq
                if ev.type in ("alert_fired", "alert_resolved"):
                    self._adopt(ev)
                elif ev.type == "calls_purged":  # erased calls leave the window too
                    erased = set(ev.data.get("call_ids") or [])
                    self._window.drop(erased)
                    self._tracker.forget(erased)
                else:
                    self._window.add(self._tracker.samples(ev))
            if len(events) < _CHUNK:
                return

    def _adopt(self, ev: LoggedEvent) -> None:
        """An alert event another evaluator wrote (ours are known already): follow it."""
        name = ev.call_id.removeprefix("alert:")
        state = self.states.get(name)
        if state is not None and ev.seq > state.last_seq:
            self.states[name] = restore([ev], now=self.service.clock())

    async def _transition(
        self, rule: Rule, state: AlertState, kind: Transition, *, now: float, reason: str = ""
    ) -> None:
        """Append the transition's event, then take ``state``; on failure the old state stays (retried)."""
        event = transition_event(rule, state, kind, now=now, reason=reason)
        before = self.service.projection.last_seq
        try:
            (seq,) = await self.service.append([event])
        except (LogError, ServiceStopped) as e:
            log.error("alert %s: cannot append %s: %s", rule.name, event["type"], e)
            return
        state = replace(state, last_seq=max(seq, state.last_seq))
        if kind == "fired":
            state = replace(state, fired_seq=seq, fired_at=now)
        self.states[rule.name] = state
        if seq <= before:  # the log had it already (another evaluator): it notified
            return
        log.warning("%s", event["data"]["summary"])
        self.notify(rule, event, seq)

    # -- delivery -----------------------------------------------------------

    def notify(self, rule: Rule, event: dict[str, Any], seq: int | None) -> None:
        """Start one delivery task per target of the rule; returns at once."""
        for name in rule.notify:
            target = self.ruleset.targets.get(name)
            if target is None:
                continue
            task = asyncio.create_task(self._deliver(target, rule, event, seq))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _deliver(self, target: Target, rule: Rule, event: dict[str, Any], seq: int | None) -> None:
        kind = event["type"]

        def record(attempt: Attempt) -> None:
            at = self.service.clock()
            self.deliveries.append(attempt, at=at, msg_id=event["id"], rule=rule.name, kind=kind, ref=target.ref)
            if attempt.outcome == "disabled":
                self._disabled.add(target.ref)
            if attempt.outcome in ("failed", "disabled"):
                log.error("alert %s: delivery to %s %s: %s", rule.name, target.name, attempt.outcome, attempt.detail)

        if target.ref in self._disabled:
            record(Attempt(target.name, 0, "disabled", None, "skipped: target disabled by an earlier 410"))
            return
        assert self._session is not None
        body = notification_body(event, seq=seq, fmt=target.format)
        await deliver(
            self._session,
            target,
            msg_id=event["id"],
            body=body,
            clock=self.service.clock,
            sleep=self._sleep,
            record=record,
        )

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests, and the CLI's test command)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    # -- reload -------------------------------------------------------------

    async def _watch(self) -> None:
        async for _changes in watchfiles.awatch(
            self.path.parent, watch_filter=lambda _c, p: Path(p).name == self.path.name, debounce=200
        ):
            await self.reload()

    async def reload(self) -> None:
        """Re-read the file: a bad file keeps the rules in force; removed firing rules resolve."""
        try:
            ruleset = await asyncio.to_thread(load_rules, self.path)
        except RulesError as e:
            self.error = str(e)
            log.error("alerts file not reloaded, previous rules stay in force: %s", e)
            return
        old = self.ruleset
        self._use(ruleset)
        self._disabled = await asyncio.to_thread(self.deliveries.disabled_refs)
        new_names = [name for name in ruleset.rules if name not in self.states]
        await self._restore(new_names)
        now = self.service.clock()
        for name in [n for n in old.rules if n not in ruleset.rules]:
            state = self.states.get(name, AlertState())
            if state.phase == "firing":
                gone = replace(state, phase="inactive", since=None)
                await self._transition(old.rules[name], gone, "resolved", now=now, reason="rule removed")
            self.states.pop(name, None)
        log.info("alerts file reloaded: %d rule(s)", len(ruleset.rules))

    # -- reads --------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The rules with their state, the targets (no URL, no secret) and the file's status."""
        rules = []
        for rule in self.ruleset.rules.values():
            state = self.states.get(rule.name, AlertState())
            rules.append(
                {
                    **rule.model_dump(mode="json", by_alias=True),
                    "summary": rule.describe(),
                    "state": state.phase,
                    "value": state.value,
                    "samples": state.samples,
                    "since": state.since,
                    "fired_at": state.fired_at if state.phase == "firing" else None,
                    "evaluated_at": state.evaluated_at,
                }
            )
        targets = [
            {"name": t.name, "format": t.format, "disabled": t.ref in self._disabled, "signed": bool(t.signing_key())}
            for t in self.ruleset.targets.values()
        ]
        return {
            "enabled": True,
            "leader": self.leader,
            "file": str(self.path),
            "loaded_at": self.loaded_at,
            "error": self.error,
            "rules": rules,
            "targets": targets,
        }
