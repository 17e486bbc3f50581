"""Webhook delivery: Standard Webhooks signing, Slack bodies, retries with backoff and Retry-After.

Signing follows the Standard Webhooks spec: ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">``, the key being the base64 after ``whsec_`` (tested against the
reference library's published vector). A 2xx delivers; 5xx, 429, timeouts and connection errors
are retried with exponential backoff, honouring ``Retry-After``; 410 Gone disables the target;
any other answer fails at once. The delivery log never holds a URL (Slack's carry the secret).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
import orjson

from patterdash.ops.rules import Target

__all__ = [
    "Attempt",
    "Outcome",
    "deliver",
    "notification_body",
    "retry_after_seconds",
    "sign",
    "signing_key_bytes",
]

Outcome = Literal["delivered", "retrying", "failed", "disabled"]
Sleep = Callable[[float], Awaitable[None]]
_ICON = {"alert_fired": ":rotating_light:", "alert_resolved": ":white_check_mark:"}


def signing_key_bytes(secret: str) -> bytes:
    """The HMAC key: base64 after ``whsec_`` (the spec's form), else the secret's UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def notification_body(event: dict[str, Any], *, seq: int | None, fmt: str, test: bool = False) -> bytes:
    """The JSON body for one alert event: Standard Webhooks' {type, timestamp, data}, or Slack's {text}."""
    data = event["data"]
    if fmt == "slack":
        state = "FIRING" if event["type"] == "alert_fired" else "RESOLVED"
        prefix = "[TEST] " if test else ""
        text = f"{_ICON.get(event['type'], '')} {prefix}[{state}] {data.get('summary') or data.get('rule')}"
        return orjson.dumps({"text": text.strip()})
    when = datetime.fromtimestamp(event["ts"], tz=UTC).isoformat().replace("+00:00", "Z")
    payload = {"type": event["type"].replace("_", "."), "timestamp": when, "data": {**data, "seq": seq}}
    if test:
        payload["data"]["test"] = True
    return orjson.dumps(payload)


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class Attempt:
    """One try at one target: what it answered and what happens next."""

    target: str
    attempt: int
    outcome: Outcome
    status: int | None  # HTTP status, None for a timeout or connection error
    detail: str
    wait: float | None = None  # seconds until the next attempt when retrying


async def _post(
    session: aiohttp.ClientSession, target: Target, headers: dict[str, str], body: bytes
) -> tuple[int | None, str | None, str]:
    """(status, Retry-After, detail) of one POST; status None when it never got an answer."""
    try:
        timeout = aiohttp.ClientTimeout(total=target.timeout)
        async with session.post(target.url, data=body, headers=headers, timeout=timeout, allow_redirects=False) as resp:
            await resp.read()
            return resp.status, resp.headers.get("Retry-After"), f"HTTP {resp.status}"
    except TimeoutError:
        return None, None, f"timed out after {target.timeout:g} s"
    except aiohttp.ClientError as e:
        return None, None, f"connection error: {type(e).__name__}"


def _headers(target: Target, msg_id: str, body: bytes, now: float) -> dict[str, str]:
    stamp = math.floor(now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "patterdash-alerts",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
    }
    key = target.signing_key()
    if key:
        headers["webhook-signature"] = sign(key, msg_id=msg_id, timestamp=stamp, body=body)
    return headers


def _next_wait(target: Target, attempt: int, retry_after: float | None) -> float:
    backoff = float(min(target.max_backoff, target.backoff * 2.0 ** (attempt - 1)))
    if retry_after is None:
        return backoff
    return float(min(target.max_retry_after, max(backoff, retry_after)))


async def deliver(
    session: aiohttp.ClientSession,
    target: Target,
    *,
    msg_id: str,
    body: bytes,
    clock: Callable[[], float],
    sleep: Sleep = asyncio.sleep,
    record: Callable[[Attempt], None] = lambda _: None,
) -> Attempt:
    """Send one message to one target, retrying as the module says; every attempt goes to ``record``."""
    attempt = 0
    while True:
        attempt += 1
        # the same webhook-id on every try (receivers de-duplicate by it); a fresh timestamp and signature
        status, retry_after, detail = await _post(session, target, _headers(target, msg_id, body, clock()), body)
        if status is not None and 200 <= status < 300:
            result = Attempt(target.name, attempt, "delivered", status, detail)
        elif status == 410:
            result = Attempt(target.name, attempt, "disabled", status, "410 Gone: target disabled")
        elif (status is None or status == 429 or status >= 500) and attempt < target.max_attempts:
            wait = _next_wait(target, attempt, retry_after_seconds(retry_after, now=clock()))
            result = Attempt(target.name, attempt, "retrying", status, detail, wait=wait)
        else:
            result = Attempt(target.name, attempt, "failed", status, detail)
        record(result)
        if result.outcome != "retrying":
            return result
        assert result.wait is not None
        await sleep(result.wait)
