"""The connection layer under the app: slow and surplus clients, and requests aiohttp cannot parse.

A slowloris (many connections, each trickling its headers) must not use up the process's
open files. So every connection has a deadline for its request head, the number of open
connections is capped below the open-file limit, and when a new connection arrives at the
cap the one idle or slow the longest is shed, so a health check or an agent always gets in.
A request's body has its own deadline (``body_deadline_middleware``). Requests aiohttp
cannot parse get the JSON error shape with the security headers, never an echo of the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from patterdash.web.errors import json_error, protocol_error
from patterdash.web.keys import SETTINGS
from patterdash.web.otlp import upload_limit
from patterdash.web.security import security_headers

__all__ = [
    "ConnectionGuard",
    "GuardedAppRunner",
    "body_deadline_middleware",
    "connection_limit",
    "raise_open_file_limit",
]

log = logging.getLogger("patterdash.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Files the process needs besides its sockets (SQLite files, pipes, log files), plus one accept
# burst (asyncio accepts up to 100 sockets per wake-up before the shed ones are closed).
_RESERVED_FILES = 200
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one where allowed; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):  # not allowed (some sandboxes): keep the soft one
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def connection_limit(max_connections: int, open_files: int) -> int:
    """The connection cap in force: the setting, kept under the open-file limit."""
    return max(8, min(max_connections, open_files - _RESERVED_FILES))


class _Throttled:
    """A warning logged at most once per ``every`` seconds, with the count since the last one."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.count, self._last = every, 0, -float("inf")

    def note(self, message: str, *args: Any) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.warning(message + " (%d since the last such message)", *args, self.count)
            self.count = 0


class ConnectionGuard:
    """Tracks which connections wait for a request head; sheds and times them out."""

    def __init__(self, *, limit: int, head_timeout: float) -> None:
        self.limit = limit
        self.head_timeout = head_timeout
        self.shed_total = 0
        self.timed_out_total = 0
        self._open: set[GuardedRequestHandler] = set()
        self._waiting: OrderedDict[GuardedRequestHandler, None] = OrderedDict()  # oldest first
        self._shed_log = _Throttled()
        self._slow_log = _Throttled()

    def admit(self, conn: GuardedRequestHandler) -> None:
        """A new connection: at the cap, shed the one waiting longest (or this one if all are busy)."""
        self._open.add(conn)
        self.waiting(conn)
        if len(self._open) <= self.limit:
            return
        victim = next((c for c in self._waiting if c is not conn), conn)
        self.shed_total += 1
        self._shed_log.note("connection limit (%d) reached: shedding idle or slow connections", self.limit)
        self._close(victim)

    def waiting(self, conn: GuardedRequestHandler) -> None:
        """The connection waits for its next request head (new, or kept alive after a response)."""
        conn.head_started = None
        self._waiting[conn] = None
        self._waiting.move_to_end(conn)

    def busy(self, conn: GuardedRequestHandler) -> None:
        """A whole request head arrived: the connection is serving a request."""
        self._waiting.pop(conn, None)

    def forget(self, conn: GuardedRequestHandler) -> None:
        """The connection closed."""
        self._open.discard(conn)
        self._waiting.pop(conn, None)

    def sweep(self, now: float) -> None:
        """Close connections that started a request head more than ``head_timeout`` ago."""
        late = [c for c in self._waiting if c.head_started is not None and now - c.head_started > self.head_timeout]
        for conn in late:
            self.timed_out_total += 1
            self._slow_log.note("closing connections too slow to send request headers (>%.0f s)", self.head_timeout)
            self._close(conn)

    async def run_sweeper(self) -> None:
        """Sweep a few times per head deadline until cancelled."""
        loop = asyncio.get_running_loop()
        period = max(0.05, min(1.0, self.head_timeout / 4))
        while True:
            await asyncio.sleep(period)
            self.sweep(loop.time())

    def _close(self, conn: GuardedRequestHandler) -> None:
        self.forget(conn)
        conn.force_close()

    def counts(self) -> dict[str, int]:
        """For /metrics: connections open now, shed at the cap, and timed out on their head."""
        return {"open": len(self._open), "shed": self.shed_total, "timed_out": self.timed_out_total}


class _SecuredResponse(web.Response):
    """An error answer outside the app's routing still gets the security headers."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        await security_headers(request, self)  # type: ignore[arg-type]  # only reads the response
        return await super().prepare(request)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection protocol, reporting head progress to the guard; JSON parse errors."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.guard = guard
        self.head_started: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.guard.admit(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count  # counts every request head parsed (or refused) so far
        super().data_received(data)
        if self._request_count != parsed:
            self.guard.busy(self)
        elif data and self.head_started is None:
            self.head_started = self._loop.time()

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            if self.transport is not None:
                self.guard.waiting(self)  # kept alive: the next head has its own deadline

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The JSON error shape for unparsable requests and crashes; the request is never quoted."""
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        status, error, detail = protocol_error(status, exc)
        if status >= 500:
            log.error("error handling a request: %r", type(exc).__name__ if exc else None, exc_info=exc)
        else:
            log.debug("refused a malformed request from %s: %s", request.remote, type(exc).__name__)
        plain = json_error(status, error, detail)
        resp = _SecuredResponse(body=plain.body, status=status, content_type="application/json")
        resp.force_close()
        return resp


class _GuardedServer(web.Server):
    """aiohttp's low-level server, building guarded connection handlers."""

    def __init__(self, handler: Any, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.guard = guard
        self._handler_kwargs = {k: v for k, v in kwargs.items() if k not in ("request_factory", "handler_cancellation")}

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, guard=self.guard, **self._handler_kwargs)


class GuardedAppRunner(web.AppRunner):
    """An AppRunner whose connections go through a ConnectionGuard."""

    def __init__(self, app: web.Application, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.guard = guard

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # runs the app's start-up and freezes it
        return _GuardedServer(
            plain.request_handler,
            guard=self.guard,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,  # debug, access_log_class and the runner's keyword arguments
        )


@web.middleware
async def body_deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request body within ``body_timeout`` seconds, else 408 and close the connection."""
    if request.method in _BODY_METHODS and request.body_exists:
        if (limit := upload_limit(request)) is not None:  # OTLP / LiveKit uploads have their own cap
            request = request.clone(client_max_size=limit)
        if request.content.is_eof():  # the whole body came with the head: reading cannot wait, no deadline to arm
            await request.read()  # still here: caches it for the handler, 413 past the cap
            return await handler(request)
        try:
            async with asyncio.timeout(request.app[SETTINGS].body_timeout):
                await request.read()  # cached: the handler's own read() returns it; 413 past the cap
        except TimeoutError:
            resp = json_error(408, "request body too slow", "send the whole body within the body timeout")
            resp.force_close()
            return resp
    return await handler(request)
