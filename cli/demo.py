"""``patterdash demo --into URL`` and the ``serve --demo`` companion; the paced event sender."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

import aiohttp
import orjson
import typer

from patterdash.service import Service
from patterdash.sources.demo import OpenCalls, demo_events
from patterdash.web.server import Companion

from .common import fail, settings_from

__all__ = ["SendError", "demo_companion", "post_events", "register", "send_timed"]

log = logging.getLogger("patterdash.demo")
_RETRIES = 6
_MAX_BATCH = 200  # keeps a backfill well under the server's request body cap
_END_TIMEOUT = 5.0  # seconds to end the open calls when stopped


class SendError(RuntimeError):
    """The server refused the events or stayed unreachable; the message is one line."""


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _post_once(session: aiohttp.ClientSession, url: str, body: bytes, token: str | None) -> bool:
    """One POST; True when accepted, False on a retryable failure, SendError when refused."""
    try:
        async with session.post(url, data=body, headers=_headers(token)) as resp:
            if resp.status == 200:
                return True
            if resp.status < 500 and resp.status != 429:
                text = (await resp.text())[:300]
                raise SendError(f"{url} refused the events: HTTP {resp.status} {text}")
            return False
    except (aiohttp.ClientConnectionError, TimeoutError):
        return False


async def post_events(
    session: aiohttp.ClientSession,
    base_url: str,
    events: list[dict[str, Any]],
    token: str | None,
    *,
    tries: int = _RETRIES,
) -> None:
    """POST a batch to ``/api/events``, retrying with the same ids (the server de-duplicates)."""
    url = base_url.rstrip("/") + "/api/events"
    body = orjson.dumps(events)
    delay = 0.25
    for _ in range(tries):
        if await _post_once(session, url, body, token):
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 4.0)
    raise SendError(
        f"cannot reach {base_url} " + (f"(gave up after {tries} tries)" if tries > 1 else "(is the server running?)")
    )


def _due_batches(
    events: Iterable[dict[str, Any]], now: Callable[[], float]
) -> Iterator[tuple[float, list[dict[str, Any]]]]:
    """Group events into (due time, batch): everything already due travels together."""
    batch: list[dict[str, Any]] = []
    for ev in events:
        if batch and (len(batch) >= _MAX_BATCH or ev["ts"] > max(batch[0]["ts"], now())):
            yield batch[0]["ts"], batch
            batch = []
        batch.append(ev)
    if batch:
        yield batch[0]["ts"], batch


async def send_timed(
    events: Iterable[dict[str, Any]],
    *,
    base_url: str,
    token: str | None,
    clock: Callable[[], float] = time.time,
    on_sent: Callable[[list[dict[str, Any]]], None] | None = None,
) -> int:
    """Post each event when the wall clock reaches its ``ts``; returns how many were sent.

    Stopped midway (Ctrl-C, SIGTERM of ``serve --demo``), it first ends the calls it started,
    so the next start shows no phantom live calls.
    """
    sent = 0
    open_calls = OpenCalls()
    in_flight: list[dict[str, Any]] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            for due, batch in _due_batches(events, clock):
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                in_flight = batch
                # a server down from the start fails at once; one that goes away mid-stream gets retries
                await post_events(session, base_url, batch, token, tries=_RETRIES if sent else 1)
                in_flight = []
                sent += len(batch)
                open_calls.observe(batch)
                if on_sent is not None:
                    on_sent(batch)
        except asyncio.CancelledError:
            # the batch being posted may have landed: send it again (same ids, no duplicates) with the endings
            open_calls.observe(in_flight)
            await _end_open_calls(session, base_url, token, in_flight, open_calls.endings(now=clock()))
            raise
    return sent


async def _end_open_calls(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str | None,
    in_flight: list[dict[str, Any]],
    endings: list[dict[str, Any]],
) -> None:
    """Best effort, bounded: the process is stopping, and a server gone already cannot be helped."""
    if not endings:
        return
    try:
        async with asyncio.timeout(_END_TIMEOUT):
            await post_events(session, base_url, in_flight + endings, token, tries=1)
        log.info("demo: ended %d call(s) in progress", len(endings))
    except (SendError, TimeoutError) as e:
        log.warning("demo: could not end %d call(s) in progress: %s", len(endings), e)


def demo_companion(*, seed: int | None, speed: float, token: str | None) -> Companion:
    """A ``serve`` companion streaming demo calls into the server it runs beside."""

    async def job(service: Service, base_url: str) -> None:
        history = 12 if not service.projection.ring else 0  # a first run shows a table at once
        chosen = seed if seed is not None else secrets.randbits(32)
        events = demo_events(seed=chosen, start=time.time(), speed=speed, history=history)
        log.info("demo: streaming synthetic calls into %s (seed %d)", base_url, chosen)
        try:
            await send_timed(events, base_url=base_url, token=token)
        except SendError as e:
            log.error("demo stopped: %s", e)

    return job


def register(app: typer.Typer) -> None:
    """Add the demo command to the app."""
    app.command(
        "demo",
        epilog="Example: patterdash demo --into http://127.0.0.1:8000 --calls 20 --speed 4",
    )(demo_command)


def demo_command(
    into: Annotated[
        str | None,
        typer.Option("--into", help="Server to stream into [default: http://HOST:PORT from settings]"),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Token with ingest scope [env: PATTERDASH_TOKEN]", show_default=False)
    ] = None,
    calls: Annotated[int | None, typer.Option(min=1, help="Stop after this many calls [default: never]")] = None,
    speed: Annotated[float, typer.Option(min=0.01, max=1000, help="Time compression (2 = twice as fast)")] = 1.0,
    concurrency: Annotated[int, typer.Option(min=1, max=100, help="Calls in progress at once, roughly")] = 4,
    history: Annotated[int, typer.Option(min=0, max=10_000, help="Finished calls to backfill first")] = 0,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed sends the same calls")] = None,
) -> None:
    """Stream realistic synthetic calls into a running server, as a real agent would."""
    settings = settings_from(token=token)
    base_url = into or f"http://{settings.host}:{settings.port}"
    secret = settings.token.get_secret_value() if settings.token else None
    chosen = seed if seed is not None else secrets.randbits(32)
    events = demo_events(
        seed=chosen, start=time.time(), speed=speed, calls=calls, concurrency=concurrency, history=history
    )
    typer.echo(f"streaming demo calls into {base_url} (seed {chosen}); Ctrl-C to stop", err=True)
    try:
        sent = asyncio.run(send_timed(events, base_url=base_url, token=secret, on_sent=_echo_calls))
    except SendError as e:
        fail(str(e))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    typer.echo(f"sent {sent} events", err=True)


def _echo_calls(batch: list[dict[str, Any]]) -> None:
    """One line per call start and end, on stderr, so stdout stays clean."""
    for ev in batch:
        if ev["type"] == "call_end":
            cost = ((ev["data"].get("metrics") or {}).get("cost") or {}).get("total", 0.0)
            typer.echo(f"  {ev['call_id']} ended {ev['data'].get('status')} (${cost:.4f})", err=True)
        elif ev["type"] in ("call_start", "call_initiated"):
            typer.echo(f"  {ev['call_id']} {ev['type'].replace('_', ' ')} {ev['data'].get('direction')}", err=True)
