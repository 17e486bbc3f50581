"""A bounded soak: a steady event rate with concurrent readers and SSE subscribers for
SOAK_SECONDS (default 60); memory stays flat and nothing answers with an error.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
import urllib.request
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.reliability_helpers import ServerProcess, call_events, record_figure, wait_until_async

pytestmark = pytest.mark.slow

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
EVENTS_PER_SECOND = 300
SUBSCRIBERS = 20
READERS = 4
_JSON = {"Content-Type": "application/json"}
_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)


def _gauge_is(server: ServerProcess, expected: int) -> bool:
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=5) as resp:
        match = re.search(rb"^patterdash_sse_subscribers (\d+)$", resp.read(), re.MULTILINE)
    return bool(match) and int(match.group(1)) == expected


async def _preload(session: aiohttp.ClientSession, base: str) -> int:
    """Fill the ring (500 calls) and the SSE frame buffer so memory starts at its plateau."""
    posted = 0
    for chunk in range(40):
        batch = [ev for n in range(50) for ev in call_events(f"pre-{chunk}-{n}", ts=1_700_000_000.0 + n)]
        async with session.post(f"{base}/api/events", data=orjson.dumps(batch), headers=_JSON) as resp:
            assert resp.status == 200
        posted += len(batch)
    return posted


async def _subscriber(session: aiohttp.ClientSession, url: str, seqs: list[int], errors: list[str]) -> None:
    try:
        async with session.get(url) as resp:
            assert resp.status == 200
            tail = b""
            while chunk := await resp.content.read(65536):
                tail += chunk
                cut = tail.rfind(b"\n\n")
                if cut >= 0:
                    seqs.extend(int(m) for m in _ID.findall(tail[: cut + 2]))
                    tail = tail[cut + 2 :]
    except asyncio.CancelledError:
        pass
    except Exception as e:  # recorded, then asserted on
        errors.append(repr(e))


async def _reader(session: aiohttp.ClientSession, base: str, stop: asyncio.Event, statuses: dict[int, int]) -> None:
    paths = [
        "/api/dashboard/calls?limit=50",
        "/api/dashboard/calls?limit=20&view=summary&q=hello",
        "/api/dashboard/aggregates",
        "/api/dashboard/active",
        "/api/dashboard/calls/pre-39-49",
        "/metrics",
    ]
    n = 0
    while not stop.is_set():
        async with session.get(f"{base}{paths[n % len(paths)]}") as resp:
            await resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
        n += 1
        await asyncio.sleep(0.02)


async def test_steady_load_keeps_memory_flat_and_answers_no_errors(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "soak.db")
    statuses: dict[int, int] = {}
    ingest_status: dict[int, int] = {}
    rss: list[tuple[float, int]] = []
    try:
        base = server.start()
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
            preloaded = await _preload(session, base)
            start_seq = server.health()["seq"]
            subs: list[list[int]] = [[] for _ in range(SUBSCRIBERS)]
            sub_errors: list[str] = []
            url = f"{base}/api/dashboard/events"
            sub_tasks = [asyncio.create_task(_subscriber(session, url, s, sub_errors)) for s in subs]
            await wait_until_async(
                lambda: _gauge_is(server, SUBSCRIBERS), within=20, what="every subscriber to be connected"
            )
            stop = asyncio.Event()
            readers = [asyncio.create_task(_reader(session, base, stop, statuses)) for _ in range(READERS)]

            async def post(batch: list[dict[str, object]]) -> None:
                async with session.post(f"{base}/api/events", data=orjson.dumps(batch), headers=_JSON) as resp:
                    await resp.read()
                    ingest_status[resp.status] = ingest_status.get(resp.status, 0) + 1

            tick, per_tick = 0.1, EVENTS_PER_SECOND // 10
            began = time.monotonic()
            inflight: set[asyncio.Task[None]] = set()
            n = ticks = 0
            while (elapsed := time.monotonic() - began) < SOAK_SECONDS:
                batch: list[dict[str, object]] = []
                while len(batch) < per_tick:
                    batch += call_events(f"soak-{n}", ts=1_700_100_000.0 + n)
                    n += 1
                task = asyncio.create_task(post(batch))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                if int(elapsed) >= len(rss):
                    rss.append((elapsed, server.rss_kib()))
                ticks += 1
                await asyncio.sleep(max(0.0, began + tick * ticks - time.monotonic()))
            await asyncio.gather(*inflight)
            stop.set()
            await asyncio.gather(*readers)
            final = server.health()["seq"]
            await wait_until_async(
                lambda: all(s and s[-1] >= final for s in subs) or bool(sub_errors),
                within=30,
                what="subscribers to catch up",
            )
            for task in sub_tasks:
                task.cancel()
            await asyncio.gather(*sub_tasks)
        assert server.stop() == 0
        assert "Traceback" not in server.stderr()
    finally:
        server.stop()

    assert set(ingest_status) == {200}, ingest_status
    assert set(statuses) == {200}, statuses
    assert not sub_errors, sub_errors[:3]
    for seqs in subs:
        assert seqs == list(range(seqs[0], final + 1)) and seqs[0] <= start_seq + 1
    early = [kib for t, kib in rss if 5 <= t < 20]
    late = [kib for t, kib in rss if t >= SOAK_SECONDS - 15]
    assert early and late
    growth_kib = statistics.median(late) - statistics.median(early)
    assert growth_kib < max(8 * 1024, 0.1 * statistics.median(early)), rss
    events = final - start_seq
    record_figure("soak.seconds", SOAK_SECONDS)
    record_figure("soak.events_acknowledged", events)
    record_figure("soak.events_per_second", round(events / SOAK_SECONDS, 1))
    record_figure("soak.preloaded_events", preloaded)
    record_figure("soak.read_requests", sum(statuses.values()))
    record_figure("soak.sse_subscribers", SUBSCRIBERS)
    record_figure(
        "soak.rss_mib_early_late", [round(statistics.median(early) / 1024, 1), round(statistics.median(late) / 1024, 1)]
    )
    record_figure("soak.rss_mib_max", round(max(k for _, k in rss) / 1024, 1))
