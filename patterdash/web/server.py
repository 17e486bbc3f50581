"""Run the HTTP server until SIGINT/SIGTERM, then drain and stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from patterdash.core.redact import RedactingFilter
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store import redact_url
from patterdash.web.app import create_app
from patterdash.web.connections import ConnectionGuard, GuardedAppRunner, connection_limit, raise_open_file_limit
from patterdash.web.hosts import is_loopback
from patterdash.web.keys import CONNECTION_COUNTS, SERVICE
from patterdash.web.security import FailureAccessLogger, RedactingAccessLogger

__all__ = ["Companion", "configure_logging", "event_loop_factory", "is_loopback", "serve", "trust_line"]

# A background job that runs beside the server (the --demo simulator, the --watch-logs
# follower): called with the running service and the server's base URL, cancelled at stop.
Companion = Callable[[Service, str], Awaitable[None]]

log = logging.getLogger("patterdash")
# An idle kept-alive connection is closed after this long (aiohttp's own default is an hour).
_KEEPALIVE_SECONDS = 75.0


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's event loop where installed (Linux, macOS), else asyncio's own.

    uvloop roughly halves the per-request cost of the HTTP layer; the service does
    not depend on it.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def trust_line(settings: Settings, *, open_server: bool) -> str:
    """The start-up statement of who may post and read (the README's trust model)."""
    if open_server:
        return "auth: no token configured: anyone who can reach this address may read and post"
    if settings.loopback_ingest:
        return (
            "auth: tokens required, except token-less POST /api/dashboard/ingest from this machine "
            "(the Patter SDK's own reporting; not through a proxy); --no-loopback-ingest refuses it"
        )
    return "auth: tokens required on every route, this machine's token-less ingest included"


def configure_logging(level: str) -> None:
    """Log to stderr through the redacting filter (no tokens, last-4 phone digits only)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _report_companion(task: asyncio.Future[None]) -> None:
    """A companion that dies early is logged at once, not discovered at shutdown."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background job failed: %r", task.exception(), exc_info=task.exception())


async def serve(
    settings: Settings,
    *,
    announce: Callable[[str], None] = print,
    companions: Sequence[Companion] = (),
) -> None:
    """Serve until a signal arrives; acknowledged events are committed before exit."""
    app = create_app(settings)
    access_log = RedactingAccessLogger if settings.access_log else FailureAccessLogger
    open_files = raise_open_file_limit()
    guard = ConnectionGuard(
        limit=connection_limit(settings.max_connections, open_files), head_timeout=settings.head_timeout
    )
    log.info("open-file limit %d: at most %d connections", open_files, guard.limit)
    app[CONNECTION_COUNTS] = guard.counts  # /metrics reports them
    runner = GuardedAppRunner(
        app,
        guard=guard,
        access_log_class=access_log,
        shutdown_timeout=10.0,
        keepalive_timeout=_KEEPALIVE_SECONDS,
    )
    await runner.setup()
    # Start-up objects (modules, the rebuilt projection) live for ever: moved out of the collector's
    # sight, each full collection later scans only what came after (a shorter pause of the loop).
    gc.collect()
    gc.freeze()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else settings.port
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    base_url = f"http://{host}:{port}"
    announce(f"patterdash is serving {base_url}/  (log: {redact_url(settings.db)})")
    announce(trust_line(settings, open_server=app[SERVICE].tokens.open))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    jobs = [asyncio.ensure_future(job(app[SERVICE], base_url)) for job in companions]
    jobs.append(asyncio.ensure_future(guard.run_sweeper()))
    for job in jobs:
        job.add_done_callback(_report_companion)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: draining appends")
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        await runner.cleanup()
        log.info("stopped")
