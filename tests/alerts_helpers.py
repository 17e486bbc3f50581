"""A real webhook receiver on 127.0.0.1 that checks Standard Webhooks signatures and fails on demand."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from patterdash.ops.webhooks import sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    signed_ok: bool

    def json(self) -> Any:
        """The body, parsed."""
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Answers the queued (status, headers) in turn, then 200; records every request."""

    secret: str | None = SECRET
    script: deque[tuple[int, dict[str, str], float]] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    server: TestServer | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, status: int, headers: dict[str, str] | None = None, *, delay: float = 0.0) -> None:
        """Queue one answer (``delay``: hold the request that long, to provoke a client timeout)."""
        self.script.append((status, headers or {}, delay))

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        ok = False
        if self.secret and "webhook-signature" in request.headers:
            expected = sign(
                self.secret,
                msg_id=request.headers["webhook-id"],
                timestamp=int(request.headers["webhook-timestamp"]),
                body=body,
            )
            ok = expected in request.headers["webhook-signature"].split(" ")
        self.received.append(Received(headers, body, ok))
        self.arrived.set()
        status, extra, delay = self.script.popleft() if self.script else (200, {}, 0.0)
        if delay:
            await asyncio.sleep(delay)  # a slow receiver, not the test waiting
        return web.Response(status=status, headers=extra, text="ok")

    async def start(self) -> str:
        """Serve on 127.0.0.1; returns the hook URL."""
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("/hook"))

    async def close(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.close()

    async def wait_for(self, count: int, *, timeout: float = 10.0) -> None:
        """Return once ``count`` requests arrived (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            self.arrived.clear()
            remaining = deadline - loop.time()
            assert remaining > 0, f"{len(self.received)} of {count} webhook requests arrived"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)


class Clock:
    """The injectable clock: tests move time, nothing sleeps."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
