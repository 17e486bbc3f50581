"""``GET /api/alerts`` and the alert evaluator's place in the app's life (started after the service)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from patterdash.core.events import Event
from patterdash.ops.engine import AlertEngine
from patterdash.ops.retention import RetentionJob
from patterdash.web.keys import SERVICE, SETTINGS

__all__ = ["ALERTS", "AlertsResponse", "AlertsSlot", "list_alerts", "setup_alerts"]

_HISTORY = 100


class AlertRuleState(BaseModel):
    """One rule as the file defines it, with where it stands now."""

    model_config = ConfigDict(populate_by_name=True)
    name: str
    metric: str
    op: str
    threshold: float
    window: float
    for_: float = Field(alias="for")
    keep_firing_for: float
    min_samples: int | None
    filter: dict[str, str | list[str]]
    notify: list[str]
    severity: str
    description: str
    summary: str
    state: str = Field(description="inactive, pending (condition holds, `for` not yet over) or firing")
    value: float | None
    samples: int
    since: float | None
    fired_at: float | None
    evaluated_at: float | None


class AlertTargetState(BaseModel):
    """A notification target (its URL and secret are never shown)."""

    name: str
    format: str
    disabled: bool = Field(description="a 410 Gone disabled it until its URL changes")
    signed: bool


class AlertsResponse(BaseModel):
    """GET /api/alerts: the rules file's status, each rule's state, the targets, the newest alert events."""

    enabled: bool
    leader: bool = Field(description="this node evaluates the rules (with several nodes on one store, one does)")
    file: str | None
    loaded_at: float | None
    error: str | None = Field(description="why the last reload failed (the previous rules stay in force)")
    rules: list[AlertRuleState]
    targets: list[AlertTargetState]
    history: list[Event] = Field(description="alert_fired / alert_resolved events, newest first (at most 100)")


@dataclass
class AlertsSlot:
    """The running evaluator, once started (none without an alerts file)."""

    engine: AlertEngine | None = None


ALERTS = web.AppKey("alerts", AlertsSlot)


def setup_alerts(app: web.Application) -> None:
    """Add the evaluator's start/stop (its route is in web/table.py); call after the service's own hook."""
    app[ALERTS] = AlertsSlot()
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_retention)  # --retain-days: the same place, the same leader rule


async def _retention(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.retain_days is None:
        yield
        return
    job = RetentionJob(app[SERVICE], days=settings.retain_days, every=settings.retain_every)
    job.start()
    try:
        yield
    finally:
        await job.stop()


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.alerts is None:
        yield
        return
    engine = AlertEngine(app[SERVICE], settings.alerts, interval=settings.alerts_interval)
    await engine.start()  # an invalid file stops the start-up here, naming file, rule and field
    app[ALERTS].engine = engine
    try:
        yield
    finally:
        app[ALERTS].engine = None
        await engine.stop()


async def list_alerts(request: web.Request) -> web.Response:
    """The rules with their current state, the targets, and the newest alert events (read scope)."""
    engine = request.app[ALERTS].engine
    if engine is None:
        body: dict[str, Any] = {"enabled": False, "leader": False, "file": None, "loaded_at": None, "error": None}
        body.update(rules=[], targets=[], history=[])
        return web.Response(body=orjson.dumps(body), content_type="application/json")
    body = engine.snapshot()
    streams = [f"alert:{name}" for name in engine.ruleset.rules]
    events = await request.app[SERVICE].run_reader(lambda lg: lg.events_for_calls(streams))
    body["history"] = [ev.envelope() for ev in reversed(events[-_HISTORY:])]
    return web.Response(body=orjson.dumps(body), content_type="application/json")
