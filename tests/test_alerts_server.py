"""Alerts in a real server: a latency rule fires and resolves, survives a restart, reloads its file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from patterdash.ops.deliveries import DeliveryLog, delivery_log_path
from patterdash.ops.rules import RulesError
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store import open_store
from patterdash.web.alerts import AlertsResponse
from patterdash.web.app import create_app
from tests.alerts_helpers import SECRET, Clock, Receiver
from tests.factories import event, latency

Client = TestClient[Any, Any]
RULES = """
[[rule]]
name = "slow-turns"
metric = "p95(turn_latency_ms)"
op = ">"
threshold = 1000
window = "60s"
for = "10s"
keep_firing_for = "20s"
min_samples = 5
notify = ["ops"]

[target.ops]
url = "{url}"
secret = "{secret}"
"""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.close()


@pytest.fixture
def rules_file(tmp_path: Path, receiver: Receiver) -> Path:
    assert receiver.server is not None
    path = tmp_path / "alerts.toml"
    path.write_text(RULES.format(url=receiver.server.make_url("/hook"), secret=SECRET))
    return path


Start = Callable[..., Awaitable[Client]]


@pytest.fixture
async def start(make_settings: Callable[..., Settings]) -> AsyncIterator[Start]:
    clients: list[Client] = []

    async def run(clock: Clock, **overrides: Any) -> Client:
        settings = make_settings(alerts_interval=0.02, **overrides)
        app = create_app(settings, service=Service(settings, clock=clock))
        client: Client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield run
    for client in clients:
        await client.close()


async def _alerts(client: Client) -> dict[str, Any]:
    resp = await client.get("/api/alerts")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    AlertsResponse.model_validate(body)  # the shape schemas/openapi.json publishes
    return body


async def _until(client: Client, check: Callable[[dict[str, Any]], bool], *, timeout: float = 10.0) -> dict[str, Any]:
    """Poll GET /api/alerts until ``check`` holds (bounded); evaluation runs every 20 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        body = await _alerts(client)
        if check(body):
            return body
        assert loop.time() < deadline, body
        await asyncio.sleep(0.02)


def _rule(body: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = body["rules"][0]
    return rule


async def _turns(client: Client, clock: Clock, call_id: str, ms: float, count: int) -> None:
    events = [event("call_start", call_id, {"direction": "inbound"}, ts=clock())]
    turns = [{"turn": {"turn_index": i, "latency": latency(ms)}} for i in range(count)]
    events += [event("turn_complete", call_id, data, ts=clock()) for data in turns]
    resp = await client.post("/api/events", json=events)
    assert resp.status == 200, await resp.text()


async def _fire(client: Client, clock: Clock, receiver: Receiver) -> None:
    await _turns(client, clock, "slow-1", 2500.0, 10)
    body = await _until(client, lambda b: _rule(b)["state"] == "pending")
    assert _rule(body)["value"] == 2500.0 and _rule(body)["samples"] == 10
    clock.advance(11)
    await _until(client, lambda b: _rule(b)["state"] == "firing")
    await receiver.wait_for(1)


async def test_a_latency_rule_fires_after_for_then_resolves_after_recovery(
    start: Start, rules_file: Path, receiver: Receiver, db_path: Path
) -> None:
    clock = Clock()
    client = await start(clock, alerts=rules_file)
    await _fire(client, clock, receiver)
    fired = receiver.received[0]
    assert fired.signed_ok
    assert fired.json()["type"] == "alert.fired"
    assert fired.json()["data"]["value"] == 2500.0
    # recovery: fast turns come in, then the slow ones leave the 60 s window; keep_firing_for (20 s) holds it
    clock.advance(45)
    await _until(client, lambda b: _rule(b)["evaluated_at"] == clock())
    await _turns(client, clock, "fast-1", 300.0, 10)
    clock.advance(5)
    body = await _until(client, lambda b: _rule(b)["value"] == 300.0)
    assert _rule(body)["state"] == "firing"
    assert len(receiver.received) == 1
    clock.advance(21)
    body = await _until(client, lambda b: _rule(b)["state"] == "inactive")
    await receiver.wait_for(2)
    assert receiver.received[1].json()["type"] == "alert.resolved"
    assert [h["type"] for h in body["history"]] == ["alert_resolved", "alert_fired"]
    assert body["history"][0]["data"]["fired_seq"] == body["history"][1]["seq"]
    # alert streams are no calls: nothing live, nothing in the table
    active = await (await client.get("/api/dashboard/active")).json()
    assert sorted(c["call_id"] for c in active) == ["fast-1", "slow-1"]
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert all(not c["call_id"].startswith("alert:") for c in calls)
    stats = await (await client.get("/metrics")).text()
    assert "patterdash_active_calls 2" in stats
    log = open_store(db_path, create=False)
    try:  # nor in the calls index (stats, rebuild selection, exports read it)
        assert sorted(log.call_ids()) == ["fast-1", "slow-1"]
    finally:
        log.close()
    outcomes = [r["outcome"] for r in DeliveryLog(delivery_log_path(db_path)).rows()]
    assert outcomes == ["delivered", "delivered"]


async def test_alert_events_reach_sse_subscribers(start: Start, rules_file: Path, receiver: Receiver) -> None:
    clock = Clock()
    client = await start(clock, alerts=rules_file)
    async with client.get("/api/dashboard/events") as stream:
        await _fire(client, clock, receiver)
        seen = b""
        async with asyncio.timeout(10):
            while b"event: alert_fired" not in seen:
                seen += await stream.content.readany()
    assert b'"rule":"slow-turns"' in seen


async def test_a_restart_mid_incident_keeps_firing_without_a_second_notification(
    start: Start, rules_file: Path, receiver: Receiver
) -> None:
    clock = Clock()
    client = await start(clock, alerts=rules_file)
    await _fire(client, clock, receiver)
    await client.close()
    clock.advance(5)
    client = await start(clock, alerts=rules_file)
    body = await _until(client, lambda b: _rule(b)["evaluated_at"] is not None)
    assert _rule(body)["state"] == "firing"
    assert _rule(body)["value"] == 2500.0  # the window was refilled from the log
    clock.advance(30)  # still slow, a while later: no new event, no new notification
    await _until(client, lambda b: _rule(b)["evaluated_at"] == clock())
    assert len(receiver.received) == 1
    assert [h["type"] for h in (await _alerts(client))["history"]] == ["alert_fired"]


async def test_clients_cannot_forge_alert_events(start: Start, rules_file: Path) -> None:
    client = await start(Clock(), alerts=rules_file)  # open server: every client is admin
    forged = event("alert_resolved", "alert:slow-turns", {"rule": "slow-turns"})
    resp = await client.post("/api/events", json=forged)
    assert resp.status == 422
    assert (await resp.json())["error"]
    assert (await _alerts(client))["history"] == []


async def test_an_invalid_file_stops_the_start_naming_file_rule_and_field(
    start: Start, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\nmetric = "calls"\nop = "<"\nthreshold = "one"\n')
    with pytest.raises(RulesError, match=r"bad.toml: rule 'x', field 'threshold'"):
        await start(Clock(), alerts=bad)


async def test_the_file_reloads_on_change_and_a_bad_edit_keeps_the_rules_in_force(
    start: Start, rules_file: Path
) -> None:
    client = await start(Clock(), alerts=rules_file)
    good = await asyncio.to_thread(rules_file.read_text)
    await asyncio.to_thread(rules_file.write_text, good.replace('name = "slow-turns"', 'name = "slower"'))
    body = await _until(client, lambda b: [r["name"] for r in b["rules"]] == ["slower"])
    assert body["error"] is None
    await asyncio.to_thread(rules_file.write_text, good.replace('op = ">"', 'op = "!="'))
    body = await _until(client, lambda b: b["error"] is not None)
    assert "rule 'slow-turns', field 'op'" in body["error"]
    assert [r["name"] for r in body["rules"]] == ["slower"]


async def test_without_an_alerts_file_the_route_says_so(start: Start) -> None:
    body = await _alerts(await start(Clock()))
    assert body["enabled"] is False and body["rules"] == []


async def test_a_failing_receiver_gets_retries_and_the_delivery_log_shows_them(
    start: Start, rules_file: Path, receiver: Receiver, db_path: Path
) -> None:
    text = await asyncio.to_thread(rules_file.read_text)
    await asyncio.to_thread(rules_file.write_text, text + 'backoff = "10ms"\n')  # a real, short backoff
    receiver.answer(500)
    receiver.answer(429, {"Retry-After": "0"})
    clock = Clock()
    client = await start(clock, alerts=rules_file)
    await _turns(client, clock, "slow-1", 2500.0, 10)
    await _until(client, lambda b: _rule(b)["state"] == "pending")
    clock.advance(11)
    await receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1 and all(
        r.signed_ok for r in receiver.received
    )
    log = DeliveryLog(delivery_log_path(db_path))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(rows := list(log.rows())) < 3:
        assert loop.time() < deadline, rows
        await asyncio.sleep(0.02)
    assert [(r["attempt"], r["outcome"], r["status"]) for r in rows] == [
        (1, "retrying", 500),
        (2, "retrying", 429),
        (3, "delivered", 200),
    ]
