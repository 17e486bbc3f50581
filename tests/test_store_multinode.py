"""Several real ``patterdash serve`` processes on one PostgreSQL log: any node answers any client."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.factories import event, full_call
from tests.reliability_helpers import IngestTally, ServerProcess, drive_ingest, record_figure, run_cli, wait_until
from tests.sse_client import SSEReader

pytestmark = pytest.mark.slow


@pytest.fixture
def nodes(pg_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Up to three nodes on one PostgreSQL log (started by the test, stopped by PID at the end)."""
    started: list[ServerProcess] = []
    for n in range(3):
        workdir = tmp_path / f"node{n}"
        workdir.mkdir()
        started.append(ServerProcess(pg_url, workdir=workdir))  # type: ignore[arg-type]
    yield started
    for node in started:
        node.stop()


def _stored(pg_url: str, query: str) -> list[Any]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(query.encode()).fetchall()


async def _post(session: aiohttp.ClientSession, base: str, events: list[dict[str, Any]]) -> list[int]:
    async with session.post(f"{base}/api/events", json=events) as resp:
        assert resp.status == 200, await resp.text()
        return list((await resp.json())["seqs"])


async def test_an_event_appended_on_one_node_reaches_another_nodes_sse_quickly(nodes: list[ServerProcess]) -> None:
    a, b = nodes[0], nodes[1]
    a.start()
    b.start()
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{b.base_url}/api/dashboard/events") as stream:
            reader = SSEReader(stream)
            for n in range(100):  # 100 events/s, one at a time
                sent = time.perf_counter()
                (seq,) = await _post(session, a.base_url, [event("call_start", f"CA-x{n}", id=f"x{n}")])
                frame = await reader.next_frame(timeout=5)
                latencies.append(time.perf_counter() - sent)
                assert (frame.id, frame.data["call_id"]) == (seq, f"CA-x{n}")
                await asyncio.sleep(max(0.0, 0.01 - (time.perf_counter() - sent)))
        async with session.get(f"{b.base_url}/api/dashboard/active") as resp:
            assert len(await resp.json()) == 100
    p50, p99 = statistics.median(latencies), sorted(latencies)[98]
    record_figure("cross_node_sse_ms", {"p50": round(p50 * 1000, 1), "p99": round(p99 * 1000, 1)})
    assert p99 < 0.5, f"p99 {p99 * 1000:.0f} ms (post on A acknowledged -> frame on B's SSE)"


async def test_a_client_whose_node_dies_resumes_on_another_with_last_event_id(nodes: list[ServerProcess]) -> None:
    a, b = nodes[0], nodes[1]
    a.start()
    b.start()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{a.base_url}/api/dashboard/events") as stream:
            reader = SSEReader(stream)
            await _post(session, a.base_url, full_call("CA-r1"))
            seen = [f.id for f in await reader.frames(6)]
            await _post(session, b.base_url, full_call("CA-r2"))  # appended elsewhere meanwhile
            a.kill()
        await _post(session, b.base_url, full_call("CA-r3"))
        headers = {"Last-Event-ID": str(seen[-1])}
        async with session.get(f"{b.base_url}/api/dashboard/events", headers=headers) as stream:
            resumed = [f.id for f in await SSEReader(stream).frames(12)]
    assert seen == list(range(1, 7)) and resumed == list(range(7, 19))  # no gap, no duplicate


async def test_one_node_closes_a_stale_call_and_leadership_moves(nodes: list[ServerProcess], pg_url: str) -> None:
    for node in nodes:
        node.env["PATTERDASH_STALE_AFTER"] = "1"
        node.start()
    lost = "SELECT call_id FROM patterdash_events WHERE type = 'call_status' AND data LIKE '%lost%' ORDER BY seq"
    async with aiohttp.ClientSession() as session:
        await _post(session, nodes[1].base_url, [event("call_start", "CA-stale1", id="s1")])
        wait_until(lambda: _stored(pg_url, lost), timeout=15, what="a lost event")
        await asyncio.sleep(1.5)  # every node has had several stale passes since
        assert _stored(pg_url, lost) == [("CA-stale1",)]
        for node in nodes:  # every node projected the one lost event
            deadline = time.monotonic() + 5
            while not await _is_lost(session, node.base_url, "CA-stale1"):
                assert time.monotonic() < deadline, "a node never showed the call as lost"
                await asyncio.sleep(0.05)
        nodes[0].kill()  # the first node started: the leader
        await _post(session, nodes[2].base_url, [event("call_start", "CA-stale2", id="s2")])
        wait_until(lambda: len(_stored(pg_url, lost)) == 2, timeout=15, what="a lost event after the leader died")
        await asyncio.sleep(1.5)
    assert _stored(pg_url, lost) == [("CA-stale1",), ("CA-stale2",)]


async def _is_lost(session: aiohttp.ClientSession, base: str, call_id: str) -> bool:
    async with session.get(f"{base}/api/dashboard/calls/{call_id}") as resp:
        return resp.status == 200 and (await resp.json())["status"] == "lost"


async def test_sigkill_of_a_loaded_node_loses_no_acknowledged_event(nodes: list[ServerProcess], pg_url: str) -> None:
    a, b = nodes[0], nodes[1]
    a.start()
    b.start()
    tally_a, tally_b, stop = IngestTally(), IngestTally(), asyncio.Event()
    drivers = [
        asyncio.create_task(drive_ingest(a.base_url, tally_a, stop, workers=4, prefix="ka")),
        asyncio.create_task(drive_ingest(b.base_url, tally_b, stop, workers=4, prefix="kb")),
    ]
    deadline = time.monotonic() + 20
    while len(tally_a.acked) < 300:  # A is under load when it dies
        assert time.monotonic() < deadline, "node A acknowledged too little"
        await asyncio.sleep(0.05)
    a.kill()
    await asyncio.sleep(0.5)  # B keeps taking appends after A died
    stop.set()
    await asyncio.gather(*drivers)
    stored = {row[0] for row in _stored(pg_url, "SELECT id FROM patterdash_events")}
    assert tally_a.acked and tally_b.acked
    assert tally_a.acked <= stored and tally_b.acked <= stored  # every acknowledged event kept
    count, distinct = _stored(pg_url, "SELECT count(*), count(DISTINCT id) FROM patterdash_events")[0]
    assert count == distinct  # and none twice
    record_figure("pg_sigkill_acked", {"node_a": len(tally_a.acked), "node_b": len(tally_b.acked)})


async def test_a_token_rotated_through_one_node_is_honoured_by_the_others_within_a_second(
    nodes: list[ServerProcess], pg_url: str
) -> None:
    a, b = nodes[0], nodes[1]
    first = run_cli("token", "rotate", "--scope", "admin", "--db", pg_url, cwd=a.workdir)
    assert first.returncode == 0, first.stderr
    old = first.stdout.strip()
    a.start()
    b.start()
    async with aiohttp.ClientSession() as session:

        async def status(node: ServerProcess, token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(f"{node.base_url}/api/dashboard/calls", headers=headers) as resp:
                return resp.status

        assert [await status(n, old) for n in (a, b)] == [200, 200]
        second = run_cli("token", "rotate", "--scope", "admin", "--db", pg_url, cwd=a.workdir)
        new, rotated_at = second.stdout.strip(), time.monotonic()
        for node in (a, b):
            while (await status(node, old), await status(node, new)) != (401, 200):
                assert time.monotonic() - rotated_at < 1.0, "a node still honours the old token after 1 s"
                await asyncio.sleep(0.02)
