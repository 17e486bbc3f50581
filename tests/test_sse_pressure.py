"""SSE under pressure: 500 subscribers keep up while a stalled reader is cut off, and the
stalled reader loses nothing when it reconnects with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.reliability_helpers import ServerProcess, record_figure, wait_until_async

pytestmark = pytest.mark.slow

SUBSCRIBERS = 500
_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)
_TEXT = "y" * 3000  # big frames fill a stalled socket quickly


@dataclass
class Subscriber:
    """One fast SSE reader: every seq it saw, in order."""

    seqs: list[int] = field(default_factory=list)
    error: str | None = None


async def _subscribe(
    session: aiohttp.ClientSession,
    url: str,
    sub: Subscriber,
    opened: asyncio.Event,
    *,
    last_event_id: int | None = None,
) -> None:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    try:
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 200
            opened.set()
            tail = b""
            while chunk := await resp.content.read(65536):
                tail += chunk
                cut = tail.rfind(b"\n\n")
                if cut < 0:
                    continue
                sub.seqs.extend(int(m) for m in _ID.findall(tail[: cut + 2]))
                tail = tail[cut + 2 :]
    except (aiohttp.ClientError, TimeoutError) as e:
        sub.error = repr(e)
    except asyncio.CancelledError:
        pass


async def _subscribers_gauge(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/metrics") as resp:
        match = re.search(r"^patterdash_sse_subscribers (\d+)$", await resp.text(), re.MULTILINE)
        assert match
        return int(match.group(1))


def _line(call_id: str) -> dict[str, object]:
    return {"type": "transcript_line", "call_id": call_id, "data": {"role": "user", "text": _TEXT}}


def _stalled_reader(base: str) -> socket.socket:
    """A raw client that asks for the stream and then never reads (a tiny receive window)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect((host, int(port)))
    sock.sendall(f"GET /api/dashboard/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


def _read_frames(sock: socket.socket, *, until_seq: int | None, within: float) -> bytes:
    """Read until a frame with ``until_seq`` arrived, or (None) until the server closes or resets."""
    sock.settimeout(within)
    data = bytearray()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if until_seq is not None and until_seq in _seqs(bytes(data)):
            return bytes(data)
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return bytes(data)  # a reset drops what the kernel still held: the client resumes from its last id
        if not chunk:
            return bytes(data)
        data += chunk
    raise AssertionError(f"stalled reader: timed out after {within} s")


def _seqs(raw: bytes) -> list[int]:
    """Seqs of the complete frames in a raw HTTP/1.1 response (chunked framing included)."""
    body = raw.split(b"\r\n\r\n", 1)[-1].replace(b"\r\n", b"\n")
    return [int(m) for m in _ID.findall(body[: body.rfind(b"\n\n") + 2])]


async def test_500_subscribers_keep_up_while_a_stalled_reader_is_cut_off_and_resumes(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "sse.db", env={"PATTERDASH_SSE_SEND_TIMEOUT": "1.0"})
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    try:
        base = server.start()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            stalled = await asyncio.to_thread(_stalled_reader, base)
            subs = [Subscriber() for _ in range(SUBSCRIBERS)]
            opened = [asyncio.Event() for _ in subs]
            url = f"{base}/api/dashboard/events"
            readers = [asyncio.create_task(_subscribe(session, url, s, o)) for s, o in zip(subs, opened, strict=True)]
            await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 60)
            held = await _subscribers_gauge(session, base)
            assert held == SUBSCRIBERS + 1
            # the stalled reader reads the first events, then never reads again
            async with session.post(f"{base}/api/events", json=[_line(f"first-{i}") for i in range(5)]) as resp:
                assert resp.status == 200
            first = await asyncio.to_thread(_read_frames, stalled, until_seq=5, within=30)

            # publish until the stalled reader is dropped; ingest never waits on it
            posted, slowest_ack, dropped_at = 5, 0.0, None
            for _ in range(200):
                batch = [_line(f"sse-{posted + i}") for i in range(10)]
                started = time.perf_counter()
                async with session.post(f"{base}/api/events", json=batch) as resp:
                    assert resp.status == 200
                slowest_ack = max(slowest_ack, time.perf_counter() - started)
                posted += len(batch)
                if await _subscribers_gauge(session, base) == SUBSCRIBERS:
                    dropped_at = posted
                    break
            assert dropped_at is not None, "the stalled reader was never disconnected"
            # a last marker event; every fast subscriber must see every seq up to it, in order
            async with session.post(
                f"{base}/api/events", json={"type": "call_status", "call_id": "m", "data": {"status": "marker"}}
            ) as resp:
                final = (await resp.json())["seqs"][0]
            await wait_until_async(
                lambda: all(s.seqs and s.seqs[-1] >= final for s in subs) or any(s.error for s in subs),
                within=120,
                what="all subscribers to reach the marker",
            )
            assert not [s.error for s in subs if s.error]
            for s in subs:
                assert s.seqs == list(range(1, final + 1))
            assert await _subscribers_gauge(session, base) == SUBSCRIBERS

            # the stalled reader: what it got before the cut, then a resume from its last id
            rest = await asyncio.to_thread(_read_frames, stalled, until_seq=None, within=30)
            stalled.close()
            seen = _seqs(first + rest)
            assert seen == list(range(1, len(seen) + 1))
            last = seen[-1]
            assert 5 <= last < final
            resumed = Subscriber()
            resumed_open = asyncio.Event()
            resume = asyncio.create_task(_subscribe(session, url, resumed, resumed_open, last_event_id=last))
            await wait_until_async(
                lambda: resumed.seqs and resumed.seqs[-1] >= final, within=60, what="the resumed reader"
            )
            assert resumed.seqs == list(range(last + 1, final + 1))
            for task in [*readers, resume]:
                task.cancel()
            await asyncio.gather(*readers, resume, return_exceptions=True)
        assert server.stop() == 0
        assert "Traceback" not in server.stderr()
    finally:
        server.stop()
    record_figure("sse.subscribers_held", held - 1)
    record_figure("sse.events_each_subscriber_received", final)
    record_figure("sse.stalled_reader_dropped_after_events", dropped_at)
    record_figure("sse.stalled_reader_resumed_from_seq", last)
    record_figure("sse.slowest_ingest_ack_while_stalled_s", round(slowest_ack, 3))
