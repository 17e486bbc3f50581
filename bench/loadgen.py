"""The load generator: runs in its own process (``python -m bench.loadgen SPEC.json``), prints JSON.

Modes:
- ``closed``: ``concurrency`` workers send back-to-back requests for ``duration`` s.
- ``paced``: open loop at ``rate`` requests/s for ``duration`` s (latency from the scheduled time).
- ``subscribe``: ``subscribers`` SSE connections; records when each call event arrives at each one.

Request streams (``kind``): ``pairs`` (Patter ingest start+end per call, each worker
one call at a time), ``batch`` (``/api/events`` arrays of ``batch`` native events),
``get`` (round-robin over ``paths``); ``batch`` with ``types`` keeps only those event
types of each call (``["transcript_line"]``: small events only). Bodies come from templates with the call id
swapped in, so generating them costs the client almost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from bench.common import summarise
from bench.payloads import MARK, native_call_events, pair_templates

Req = tuple[str, str, bytes | None, str]  # method, path, body, tag (``call_id:event_type`` for SSE)
_JSON = {"Content-Type": "application/json"}


def _event_templates(types: list[str] | None = None) -> list[bytes]:
    events = native_call_events(MARK.decode())
    return [orjson.dumps(e) for e in events if types is None or e["type"] in types]


def request_stream(spec: dict[str, Any]) -> Callable[[], list[Req]]:
    """A factory of 'units of work': each call returns the requests one worker sends in order."""
    kind = spec["kind"]
    prefix = spec.get("prefix", "c")
    counter = itertools.count(spec.get("start", 0))
    if kind == "pairs":
        start, end = pair_templates(spec.get("turns", 10))
        split = spec.get("split", False)  # one request per unit (start, end, start, ...) for paced SSE publishing
        halves = itertools.count()

        def pairs() -> list[Req]:
            if split:
                half = next(halves)
                cid = f"{prefix}-{half // 2}"
                body, etype = (start, "call_start") if half % 2 == 0 else (end, "call_end")
                return [("POST", "/api/dashboard/ingest", body.replace(MARK, cid.encode()), f"{cid}:{etype}")]
            cid = f"{prefix}-{next(counter)}"
            return [
                ("POST", "/api/dashboard/ingest", start.replace(MARK, cid.encode()), ""),
                ("POST", "/api/dashboard/ingest", end.replace(MARK, cid.encode()), ""),
            ]

        return pairs
    if kind == "batch":
        templates = _event_templates(spec.get("types"))
        size = spec.get("batch", 100)
        flat = ((i, t) for i in counter for t in templates)

        def batch() -> list[Req]:
            parts = [t.replace(MARK, f"{prefix}-{i}".encode()) for i, t in itertools.islice(flat, size)]
            return [("POST", "/api/events", b"[" + b",".join(parts) + b"]", "")]

        return batch
    if kind == "get":
        labelled = itertools.cycle(spec.get("labelled_paths") or [["", p] for p in spec["paths"]])

        def get() -> list[Req]:
            label, path = next(labelled)
            return [("GET", path, None, label)]

        return get
    raise ValueError(f"unknown kind {kind}")


async def _send(session: aiohttp.ClientSession, base: str, req: Req) -> int:
    method, path, body, _ = req
    async with session.request(method, base + path, data=body, headers=_JSON if body else None) as r:
        await r.read()
        return r.status


class _RawConnection(asyncio.Protocol):
    """A minimal keep-alive HTTP/1.1 client connection (Content-Length responses only).

    Several times cheaper per request than aiohttp's client, so that on a small
    box the load generator limits the measurement less. Used by the closed loop.
    """

    def __init__(self, host: str) -> None:
        self.host = host.encode()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._try_complete()

    def _try_complete(self) -> None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.find(b"content-length:")
        if i >= 0:
            stop = head.find(b"\r\n", i)
            total = end + 4 + int(head[i + 15 : stop if stop > 0 else None])
        elif b"transfer-encoding: chunked" in head:  # a streamed response (the calls list)
            total = self._chunked_end(end + 4)
        else:
            raise RuntimeError("raw client needs Content-Length or chunked responses")
        if total < 0 or len(self.buf) < total:
            return
        status = int(head[9:12])
        del self.buf[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(status)

    def _chunked_end(self, pos: int) -> int:
        """Where a chunked body starting at ``pos`` ends (after the last chunk), or -1 while incomplete."""
        while True:
            line_end = self.buf.find(b"\r\n", pos)
            if line_end < 0:
                return -1
            size = int(bytes(self.buf[pos:line_end]).split(b";", 1)[0], 16)
            pos = line_end + 2 + size + 2  # the chunk and its CRLF (no trailers: the last chunk ends in CRLF CRLF)
            if size == 0:
                return pos
            if pos > len(self.buf):
                return -1

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, method: str, path: str, body: bytes | None) -> int:
        assert self.transport is not None
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), path.encode(), self.host)
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head + b"\r\n" + (body or b""))
        return await self.waiter


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Back-to-back requests from ``concurrency`` workers; warm-up excluded."""
    base, conc, duration = spec["url"], spec["concurrency"], spec["duration"]
    warmup = spec.get("warmup", 0.5)
    units = request_stream(spec)
    per_unit = spec.get("events_per_request", 1)
    lat: list[float] = []
    statuses: dict[int, int] = {}
    sent = [0]
    acked = [0]  # 2xx answers over the whole run (warm-up and tail too): events the server said it kept
    budget = spec.get("stop_after_units")
    taken = itertools.count()
    parts = urlsplit(base)
    loop = asyncio.get_running_loop()
    conns = [
        (await loop.create_connection(lambda: _RawConnection(str(parts.netloc)), parts.hostname, parts.port))[1]
        for _ in range(conc)
    ]
    if True:
        t_start = time.perf_counter()
        measure_from = t_start + warmup
        stop = measure_from + duration

        async def worker(conn: _RawConnection) -> None:
            while time.perf_counter() < stop:
                if budget is not None and next(taken) >= budget:
                    return
                for req in units():
                    t0 = time.perf_counter()
                    status = await conn.request(req[0], req[1], req[2])
                    t1 = time.perf_counter()
                    sent[0] += 1
                    acked[0] += status < 300
                    if measure_from <= t1 <= stop:  # completions inside the window
                        lat.append((t1 - t0) * 1000)
                        statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(worker(c) for c in conns))
        for c in conns:
            if c.transport is not None:
                c.transport.close()
    errors = sum(v for k, v in statuses.items() if k >= 400)
    if budget is not None:
        duration = time.perf_counter() - t_start
    out = summarise(lat, duration, errors=errors, units=len(lat) * per_unit)
    out["statuses"] = {str(k): v for k, v in statuses.items()}
    out["total_requests"] = sent[0]  # including warm-up and the tail, for server CPU per request
    out["acked_events"] = acked[0] * per_unit
    return out


async def paced(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop at ``rate`` requests/s; records wall-clock acks per call id when ``record_acks``."""
    base, rate, duration = spec["url"], spec["rate"], spec["duration"]
    units = request_stream(spec)
    lat: list[float] = []
    by_label: dict[str, list[float]] = {}
    acks: dict[str, list[float]] = {}  # tag -> [sent, acknowledged] (wall clock)
    statuses: dict[int, int] = {}
    record = spec.get("record_acks", False)
    inflight = asyncio.Semaphore(spec.get("max_inflight", 256))
    connector = aiohttp.TCPConnector(limit=spec.get("max_inflight", 256))
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        n = int(rate * duration)
        tasks = []

        async def one(due: float, reqs: list[Req]) -> None:
            async with inflight:
                for req in reqs:
                    sent = time.time()
                    status = await _send(session, base, req)
                    if record and req[3]:
                        acks[req[3]] = [sent, time.time()]
                    statuses[status] = statuses.get(status, 0) + 1
            ms = (time.perf_counter() - due) * 1000
            lat.append(ms)
            if not record and reqs[-1][3]:
                by_label.setdefault(reqs[-1][3], []).append(ms)

        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, units())))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    errors = sum(v for k, v in statuses.items() if k >= 400)
    out = summarise(lat, elapsed, errors=errors)
    out["target_rate"] = rate
    out["achieved_rate"] = round(n / elapsed, 1)
    out["statuses"] = {str(k): v for k, v in statuses.items()}
    if record:
        out["acks"] = acks
    if by_label:
        out["by_label"] = {k: summarise(v, elapsed) for k, v in by_label.items()}
    return out


_FRAME = re.compile(rb'event: ?(\w+)\r?\ndata: ?\{"call_id": ?"([^"]+)"')


class _SubscriberProtocol(asyncio.Protocol):
    """A minimal SSE reader: finds each frame's event type and call id, stamps the arrival time."""

    def __init__(self, sink: dict[str, list[float]], request: bytes) -> None:
        self.sink, self.request = sink, request
        self.buf = b""
        self.closed = asyncio.get_running_loop().create_future()
        self.headers_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf + data
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            self.buf = buf
            return
        for m in _FRAME.finditer(buf, 0, cut + 2):
            self.sink.setdefault(m.group(2).decode() + ":" + m.group(1).decode(), []).append(now)
        self.buf = buf[cut + 2 :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def subscribe(spec: dict[str, Any]) -> dict[str, Any]:
    """Open ``subscribers`` SSE streams, print READY, collect until stdin says STOP (or ``max_seconds``)."""
    host, port = spec["host"], spec["port"]
    request = f"GET {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    sink: dict[str, list[float]] = {}
    protocols = []
    for _ in range(spec["subscribers"]):
        _, proto = await loop.create_connection(lambda: _SubscriberProtocol(sink, request), host, port)
        protocols.append(proto)
    await asyncio.sleep(spec.get("settle", 0.5))
    print("READY", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.readline(), spec.get("max_seconds", 300))
    dropped = sum(1 for p in protocols if p.closed.done())
    return {"receipts": sink, "dropped": dropped, "subscribers": len(protocols)}


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    mode = spec["mode"]
    if mode == "closed":
        return await closed_loop(spec)
    if mode == "paced":
        return await paced(spec)
    if mode == "subscribe":
        return await subscribe(spec)
    raise ValueError(f"unknown mode {mode}")


def _runner() -> Any:
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


def worker() -> None:
    """``--worker``: run one spec per stdin line, one JSON result per stdout line, until stdin closes.

    One process for a workload's many short runs: starting Python with aiohttp takes ~2 s of
    wall time on the loaded box, more than some runs. Each spec gets a fresh event loop.
    """
    runner = _runner()
    for line in sys.stdin:
        try:
            result = runner(_main(json.loads(line)))
        except Exception as e:  # reported to the parent, which raises; the worker serves on
            result = {"__error__": f"{type(e).__name__}: {e}"}
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        sys.stdout.flush()


def main() -> None:
    if sys.argv[1] == "--worker":
        worker()
        return
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    result = _runner()(_main(spec))
    with open(spec["result_file"], "wb") as f:  # a file, not stdout: stdout carries READY and may be non-blocking
        f.write(orjson.dumps(result))


if __name__ == "__main__":
    main()
