"""GET /api/dashboard/events: Server-Sent Events with resume by Last-Event-ID.

A reconnecting client first gets every event after its last seq from the log,
then live frames from the bus. A subscriber that falls out of the bus buffer or
stalls a write is disconnected; it resumes from the log when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from patterdash.core.bus import encode_frame
from patterdash.web.errors import ApiError
from patterdash.web.keys import SERVICE, SETTINGS

__all__ = ["events_stream"]

_REPLAY_CHUNK = 1000
_UNTIMED_WRITE = 32 * 1024  # well under asyncio's default 64 KiB write-buffer high-water mark


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError as e:
        raise ApiError(400, "invalid Last-Event-ID", "expected an event seq (integer)") from e
    if value < 0:
        raise ApiError(400, "invalid Last-Event-ID", "expected an event seq (integer >= 0)")
    return value


async def events_stream(request: web.Request) -> web.StreamResponse:
    """Stream events: replay after Last-Event-ID from the log, then live."""
    service = request.app[SERVICE]
    settings = request.app[SETTINGS]
    bus = service.bus
    resume = _last_event_id(request)
    cursor = bus.head if resume is None else min(resume, bus.head)
    response = EventSourceResponse(ping_interval=settings.sse_keepalive, send_timeout=settings.sse_send_timeout)
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    bus.subscribers += 1
    live = False
    try:
        while not bus.closed:
            frames = bus.frames_after(cursor)
            if frames is None:
                if live:
                    break  # fell behind the shared buffer: drop; the client resumes from the log
                events = await service.read_after(cursor, limit=_REPLAY_CHUNK)
                frames = [(ev.seq, encode_frame(ev)) for ev in events if ev.seq <= bus.head]
                if not frames:
                    live = True
                    continue
            elif not frames:
                live = True
                await bus.wait(cursor)
                continue
            payload = b"".join(frame for _, frame in frames)
            transport = request.transport
            if transport is not None and not transport.get_write_buffer_size() and len(payload) <= _UNTIMED_WRITE:
                # The socket took everything so far and this stays under the transport's high-water
                # mark, so the write cannot wait: no timer (one per subscriber per event was ~10% of
                # fan-out CPU). A stalled client leaves bytes buffered and takes the timed path.
                await response.write(payload)
            else:
                async with asyncio.timeout(settings.sse_send_timeout):
                    await response.write(payload)
            cursor = frames[-1][0]
    except (TimeoutError, ConnectionResetError, RuntimeError):
        pass  # stalled or gone: the client reconnects with Last-Event-ID
    finally:
        bus.subscribers -= 1
        with contextlib.suppress(Exception):
            response.stop_streaming()
    return response
