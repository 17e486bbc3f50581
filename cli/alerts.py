"""``patterdash alerts log`` and ``patterdash alerts test RULE``."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import aiohttp
import orjson
import typer
from rich.table import Table

from patterdash.ops.deliveries import DeliveryLog, delivery_log_path
from patterdash.ops.engine import recent_events
from patterdash.ops.evaluate import AlertState, transition_event
from patterdash.ops.rules import Rule, RulesError, RuleSet, load_rules
from patterdash.ops.webhooks import Attempt, deliver, notification_body
from patterdash.ops.window import CallTracker, Window, measure
from patterdash.store import LogError, open_store, sqlite_path

from .common import DbOption, fail, settings_from
from .progress import stdout_console

__all__ = ["register"]

alerts_app = typer.Typer(help="Alert rules: the webhook delivery log, and a test notification.", no_args_is_help=True)
AlertsOption = Annotated[
    Path | None, typer.Option("--alerts", help="Alert rules file (TOML) [env: PATTERDASH_ALERTS]", show_default=False)
]


def register(app: typer.Typer) -> None:
    """Add the alerts command group to the app."""
    app.add_typer(alerts_app, name="alerts")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@alerts_app.command("log", epilog="Example: patterdash alerts log --limit 20")
def log_command(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N attempts")] = 50,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Webhook delivery attempts, oldest first: rule, target, attempt, outcome, HTTP status."""
    settings = settings_from(db=db)
    rows = list(DeliveryLog(delivery_log_path(settings.db)).rows())[-limit:]
    if json_:
        for row in rows:
            typer.echo(orjson.dumps(row).decode())
        return
    if not rows:
        typer.echo("no deliveries yet")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("time", "rule", "event", "target", "try", "outcome", "status", "detail"):
        table.add_column(column)
    for row in rows:
        event = str(row.get("kind", "")).removeprefix("alert_") + (" (test)" if row.get("test") else "")
        outcome = str(row.get("outcome"))
        style = {"delivered": "green", "retrying": "yellow"}.get(outcome, "red")
        table.add_row(
            _iso(float(row.get("at") or 0)),
            str(row.get("rule")),
            event,
            str(row.get("target")),
            str(row.get("attempt")),
            f"[{style}]{outcome}[/]",
            str(row.get("status") or "—"),
            str(row.get("detail") or ""),
        )
    stdout_console().print(table)


def _current(db: str, rule: Rule, ruleset: RuleSet, now: float) -> tuple[float | None, int]:
    """The rule's value now, measured over the log (nothing when there is no log yet)."""
    path = sqlite_path(db)
    if path is not None and not path.exists():
        return None, 0
    try:
        log = open_store(db, create=False)
    except LogError as e:
        fail(str(e))
    try:
        tracker, window = CallTracker(), Window(ruleset.max_window())
        for ev in recent_events(log, now - ruleset.max_window()):
            window.add(tracker.samples(ev))
    finally:
        log.close()
    return measure(rule, window, now)


async def _send(ruleset: RuleSet, rule: Rule, event: dict[str, object], deliveries: DeliveryLog) -> list[Attempt]:
    results = []
    async with aiohttp.ClientSession() as session:
        for name in rule.notify:
            # a test is interactive: three tries at most, none waiting more than 10 s
            target = ruleset.targets[name].model_copy(
                update={"max_attempts": min(3, ruleset.targets[name].max_attempts), "max_retry_after": 10.0}
            )
            msg_id = str(event["id"])

            def record(attempt: Attempt, ref: str = target.ref, msg_id: str = msg_id) -> None:
                deliveries.append(
                    attempt, at=time.time(), msg_id=msg_id, rule=rule.name, kind="alert_fired", ref=ref, test=True
                )

            body = notification_body(event, seq=None, fmt=target.format, test=True)
            results.append(await deliver(session, target, msg_id=msg_id, body=body, clock=time.time, record=record))
    return results


@alerts_app.command("test", epilog="Example: patterdash alerts test slow-turns --alerts alerts.toml")
def test_command(
    rule_name: Annotated[str, typer.Argument(metavar="RULE", help="The rule whose targets to notify")],
    alerts: AlertsOption = None,
    db: DbOption = None,
) -> None:
    """Send a test alert_fired notification for RULE to each of its targets (nothing is appended to the log)."""
    settings = settings_from(db=db, alerts=alerts)
    if settings.alerts is None:
        fail("no alerts file: pass --alerts FILE or set PATTERDASH_ALERTS")
    try:
        ruleset = load_rules(settings.alerts)
    except RulesError as e:
        fail(str(e))
    rule = ruleset.rules.get(rule_name)
    if rule is None:
        fail(f"no rule {rule_name!r} in {settings.alerts} (rules: {', '.join(ruleset.rules) or 'none'})")
    if not rule.notify:
        fail(f"rule {rule_name!r} has no notify targets")
    now = time.time()
    value, samples = _current(settings.db, rule, ruleset, now)
    state = AlertState(phase="firing", since=now, value=value, samples=samples)
    event = transition_event(rule, state, "fired", now=now)
    event["id"] = f"test:{uuid.uuid4().hex}"
    results = asyncio.run(_send(ruleset, rule, event, DeliveryLog(delivery_log_path(settings.db))))
    for result in results:
        typer.echo(f"{result.target}: {result.outcome} after {result.attempt} attempt(s) ({result.detail})")
    if any(r.outcome != "delivered" for r in results):
        raise typer.Exit(1)
