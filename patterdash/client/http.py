"""The agents' client: queue events, send them in batches, retry idempotently, never break the call.

``PatterdashClient`` is async (aiohttp); ``SyncPatterdashClient`` runs one on a
background thread for non-async code; ``PatterAdapter`` has the Patter SDK's
metrics-store method names and forwards every call event to a client.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

__all__ = ["ClientStats", "PatterdashClient", "SyncPatterdashClient"]

log = logging.getLogger("patterdash.client")
_SPLIT = frozenset({400, 413, 422})  # the batch itself is refused: halve it to isolate the bad event


@dataclass
class ClientStats:
    """What the client did; read these to alert on a dashboard that stays down."""

    queued: int = 0
    sent: int = 0
    dropped: int = 0  # oldest events pushed out of a full queue, or unsent at close
    rejected: int = 0  # events the server refused as invalid (never retried)
    attempts_failed: int = 0


class PatterdashClient:
    """Batches events to ``POST /api/events``; bounded memory; retries with the same ids."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        max_queue: int = 10_000,
        batch_size: int = 200,
        flush_interval: float = 0.2,
        timeout: float = 5.0,
        backoff: tuple[float, float] = (0.2, 10.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/events"
        self.stats = ClientStats()
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._queue: deque[bytes] = deque()
        self._max_queue = max(1, max_queue)
        self._batch_size = max(1, batch_size)
        self._interval = flush_interval
        self._timeout = timeout
        self._backoff = backoff
        self._clock = clock
        self._inflight: list[bytes] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._last_error = ""
        self._closing = False

    @property
    def pending(self) -> int:
        """Events not yet acknowledged by the server (queued plus in flight)."""
        return len(self._queue) + len(self._inflight)

    def emit(
        self,
        type_: str,
        call_id: str,
        data: dict[str, Any] | None = None,
        *,
        ts: float | None = None,
        event_id: str | None = None,
    ) -> str:
        """Queue one native event and return its id; never blocks, never raises."""
        event = {
            "id": event_id or uuid.uuid4().hex,
            "type": type_,
            "call_id": call_id,
            "ts": self._clock() if ts is None else ts,
            "data": data or {},
        }
        self.enqueue(event)
        return str(event["id"])

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue a ready envelope; a full queue drops its OLDEST event (counted in stats.dropped)."""
        if self._closing:
            self.stats.dropped += 1
            return
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            # Called from another thread (a sync webhook handler...): hop onto the client's loop.
            self._loop.call_soon_threadsafe(self.enqueue, event)
            return
        try:
            # Serialised now, so a bad value is caught here (not in a retry loop) and batches join cheaply.
            encoded = orjson.dumps(event, default=_fallback)
        except Exception as e:
            self.stats.rejected += 1
            log.warning("patterdash event %s not serialisable, dropped: %s", event.get("id"), e)
            return
        if len(self._queue) >= self._max_queue:
            self._queue.popleft()
            self.stats.dropped += 1
        self._queue.append(encoded)
        self.stats.queued += 1
        self._ensure_started()
        if self._wake is not None and (len(self._queue) == 1 or len(self._queue) >= self._batch_size):
            self._wake.set()  # the first event wakes the sender; a full batch cuts its wait short

    def _ensure_started(self) -> None:
        if self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: events wait in the queue until start() or the next emit in a loop
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="patterdash-client")

    async def start(self) -> None:
        """Start the sender on the running loop (emit() also starts it lazily)."""
        self._ensure_started()

    async def flush(self, within: float = 5.0) -> bool:
        """Wait until everything queued so far is acknowledged; False on timeout."""
        self._ensure_started()
        deadline = time.monotonic() + within
        while self.pending:
            if self._wake is not None:
                self._wake.set()
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def close(self, within: float = 5.0) -> None:
        """Flush what can be sent within ``within`` seconds, then stop; the rest counts as dropped."""
        if self._task is None and self._queue and not self._closing:
            self._ensure_started()
        await self.flush(within)
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.stats.dropped += self.pending
        self._queue.clear()
        self._inflight = []

    async def __aenter__(self) -> PatterdashClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the sender ---------------------------------------------------------

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout, headers=self._headers) as session:
            failures = 0
            while True:
                if not self._inflight:
                    await self._wait_for_events()
                    n = min(self._batch_size, len(self._queue))
                    self._inflight = [self._queue.popleft() for _ in range(n)]
                ok = await self._send_inflight(session)
                if ok and failures:
                    log.info("patterdash reachable again after %d failed attempts", failures)
                elif not ok and not failures:
                    log.warning("patterdash at %s not accepting events (%s); retrying", self.url, self._last_error)
                failures = 0 if ok else failures + 1
                if failures:
                    await self._sleep_backoff(failures)

    async def _wait_for_events(self) -> None:
        assert self._wake is not None
        while not self._queue:
            self._wake.clear()
            await self._wake.wait()
        if len(self._queue) < self._batch_size and self._interval > 0:
            # Give a burst a moment to fill the batch; flush() and a full batch cut this short.
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    async def _sleep_backoff(self, failures: int) -> None:
        base, cap = self._backoff
        delay = min(cap, base * 2 ** min(failures - 1, 16))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _send_inflight(self, session: aiohttp.ClientSession) -> bool:
        """POST the in-flight batch; True when acknowledged (or refused for good)."""
        batch = self._inflight
        status = await self._post(session, batch)
        if status is not None and 200 <= status < 300:
            self.stats.sent += len(batch)
            self._inflight = []
            return True
        if status in _SPLIT:
            if len(batch) == 1:
                self.stats.rejected += 1
                log.warning("patterdash refused an event (HTTP %s), dropped: %.200s", status, batch[0])
                self._inflight = []
                return True
            half = len(batch) // 2
            # Retry the halves: the good events get through, the bad one is isolated.
            self._inflight = batch[:half]
            self._queue.extendleft(reversed(batch[half:]))
            return True
        self.stats.attempts_failed += 1
        return False

    async def _post(self, session: aiohttp.ClientSession, batch: list[bytes]) -> int | None:
        try:
            async with session.post(self.url, data=b"[" + b",".join(batch) + b"]") as resp:
                await resp.read()
                self._last_error = f"HTTP {resp.status}"
                return resp.status
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the dashboard being down must never reach the caller
            self._last_error = f"{type(e).__name__}: {e}"
            return None


class SyncPatterdashClient:
    """A PatterdashClient on its own background thread and loop, for non-async code."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="patterdash-client", daemon=True)
        self._thread.start()
        self.client: PatterdashClient = self._call(self._make(base_url, options))
        self._closed = False
        atexit.register(self.close)  # a forgotten close() still flushes at interpreter exit

    @staticmethod
    async def _make(base_url: str, options: dict[str, Any]) -> PatterdashClient:
        client = PatterdashClient(base_url, **options)
        await client.start()
        return client

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def stats(self) -> ClientStats:
        """The underlying client's counters."""
        return self.client.stats

    def emit(self, type_: str, call_id: str, data: dict[str, Any] | None = None, **envelope: Any) -> str:
        """Queue one event from any thread and return its id; never blocks, never raises."""
        event_id = envelope.pop("event_id", None) or uuid.uuid4().hex
        ts = envelope.pop("ts", None)
        stamp = time.time() if ts is None else ts
        if self._closed:
            self.client.stats.dropped += 1
            return event_id
        self._loop.call_soon_threadsafe(lambda: self.client.emit(type_, call_id, data, ts=stamp, event_id=event_id))
        return event_id

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue a ready envelope from any thread."""
        if not self._closed:
            self._loop.call_soon_threadsafe(self.client.enqueue, event)

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything queued so far is acknowledged; False on timeout."""
        return bool(self._call(self.client.flush(timeout), timeout + 1))

    def close(self, timeout: float = 5.0) -> None:
        """Flush within ``timeout``, stop the thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._call(self.client.close(timeout), timeout + 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout + 5)
        self._loop.close()
        atexit.unregister(self.close)

    def __enter__(self) -> SyncPatterdashClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fallback(value: Any) -> Any:
    """orjson's default hook: sets and tuples as lists, anything else unknown as its text."""
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
