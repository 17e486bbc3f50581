"""Webhook delivery against a real receiver on loopback: signing, retries, Retry-After, 410, Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from patterdash.ops.deliveries import DeliveryLog
from patterdash.ops.rules import Target
from patterdash.ops.webhooks import Attempt, deliver, notification_body, retry_after_seconds, sign
from tests.alerts_helpers import SECRET, Clock, Receiver

EVENT: dict[str, Any] = {
    "id": "alert:slow:fired:after:0",
    "type": "alert_fired",
    "call_id": "alert:slow",
    "ts": 1_800_000_000.0,
    "data": {"rule": "slow", "summary": "slow: p95(turn_latency_ms) = 1800 > 1500 (n=40)", "value": 1800.0},
}


def test_signature_matches_the_standard_webhooks_published_vector() -> None:
    # the reference library's test_sign_function vector
    body = b'{"test": 2432232314}'
    signature = sign(SECRET, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("7", now=0) == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon", now=0) is None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.close()


class Recorder:
    """Stands in for asyncio.sleep: records the wait and moves the clock instead."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


async def _deliver(receiver: Receiver, tmp_path: Path, **target: Any) -> tuple[Attempt, list[float], list[Any]]:
    assert receiver.server is not None
    url = str(receiver.server.make_url("/hook"))
    clock = Clock()
    sleeper = Recorder(clock)
    log = DeliveryLog(tmp_path / "deliveries.jsonl")
    tgt = Target.model_validate({"name": "ops", "url": url, "secret": SECRET, **target})

    def record(attempt: Attempt) -> None:
        log.append(attempt, at=clock(), msg_id=EVENT["id"], rule="slow", kind="alert_fired", ref=tgt.ref)

    body = notification_body(EVENT, seq=42, fmt=tgt.format)
    async with aiohttp.ClientSession() as session:
        result = await deliver(session, tgt, msg_id=EVENT["id"], body=body, clock=clock, sleep=sleeper, record=record)
    return result, sleeper.waits, list(log.rows())


async def test_a_signed_delivery_carries_the_standard_headers_and_body(receiver: Receiver, tmp_path: Path) -> None:
    result, waits, rows = await _deliver(receiver, tmp_path)
    assert (result.outcome, result.attempt, waits) == ("delivered", 1, [])
    (got,) = receiver.received
    assert got.signed_ok
    assert got.headers["webhook-id"] == EVENT["id"]
    assert got.headers["webhook-timestamp"] == "1800000000"
    body = got.json()
    assert body["type"] == "alert.fired"
    assert body["timestamp"] == "2027-01-15T08:00:00Z"
    assert body["data"]["rule"] == "slow" and body["data"]["seq"] == 42
    assert [r["outcome"] for r in rows] == ["delivered"]


async def test_5xx_is_retried_with_exponential_backoff_under_the_same_id(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer(500)
    receiver.answer(503)
    result, waits, rows = await _deliver(receiver, tmp_path, backoff="2s")
    assert (result.outcome, result.attempt) == ("delivered", 3)
    assert waits == [2.0, 4.0]
    assert {r.headers["webhook-id"] for r in receiver.received} == {EVENT["id"]}
    assert all(r.signed_ok for r in receiver.received)  # re-signed with each attempt's timestamp
    assert [(r["attempt"], r["outcome"], r["status"]) for r in rows] == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "delivered", 200),
    ]


async def test_429_waits_as_long_as_retry_after_says(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer(429, {"Retry-After": "30"})
    result, waits, _ = await _deliver(receiver, tmp_path, backoff="1s")
    assert (result.outcome, waits) == ("delivered", [30.0])


async def test_retry_after_is_capped(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer(503, {"Retry-After": "86400"})
    _, waits, _ = await _deliver(receiver, tmp_path, max_retry_after="10m")
    assert waits == [600.0]


async def test_410_disables_the_target_at_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer(410)
    result, waits, rows = await _deliver(receiver, tmp_path)
    assert (result.outcome, result.attempt, waits) == ("disabled", 1, [])
    assert DeliveryLog(tmp_path / "deliveries.jsonl").disabled_refs() == {rows[0]["ref"]}


async def test_other_4xx_fail_without_retrying(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer(400)
    result, waits, _ = await _deliver(receiver, tmp_path)
    assert (result.outcome, result.status, waits) == ("failed", 400, [])


async def test_giving_up_after_max_attempts(receiver: Receiver, tmp_path: Path) -> None:
    for _ in range(5):
        receiver.answer(502)
    result, waits, rows = await _deliver(receiver, tmp_path, max_attempts=3, backoff="1s")
    assert (result.outcome, result.attempt, waits) == ("failed", 3, [1.0, 2.0])
    assert [r["outcome"] for r in rows] == ["retrying", "retrying", "failed"]


async def test_a_timeout_is_retried(receiver: Receiver, tmp_path: Path) -> None:
    # the timeout leaves a loaded box room to answer the second, prompt attempt (200 ms flaked under load)
    receiver.answer(200, delay=3.0)
    result, waits, rows = await _deliver(receiver, tmp_path, timeout="1s", backoff="1s")
    assert (result.outcome, result.attempt, waits) == ("delivered", 2, [1.0])
    assert rows[0]["status"] is None and "timed out" in rows[0]["detail"]


async def test_the_delivery_log_never_holds_the_url_or_secret(receiver: Receiver, tmp_path: Path) -> None:
    await _deliver(receiver, tmp_path)
    text = (tmp_path / "deliveries.jsonl").read_text()
    assert "127.0.0.1" not in text and "hook" not in text and "MfKQ9r8" not in text


async def test_slack_format_posts_a_text_body(receiver: Receiver, tmp_path: Path) -> None:
    result, _, _ = await _deliver(receiver, tmp_path, format="slack", secret=None)
    assert result.outcome == "delivered"
    body = orjson.loads(receiver.received[0].body)
    assert set(body) == {"text"}
    assert "[FIRING]" in body["text"] and "p95(turn_latency_ms) = 1800 > 1500" in body["text"]
    assert "webhook-signature" not in receiver.received[0].headers  # no secret: unsigned
