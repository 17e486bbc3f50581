"""Store workloads in one run: append on PostgreSQL vs SQLite, one node vs two, cross-node delivery.

``python -m bench.w_store`` prints JSON; ``python -m bench`` runs it as the ``store`` workload
(docs/performance.md, "PostgreSQL backend"), or says in one line why PostgreSQL cannot run here.
It starts its own PostgreSQL 15 with the test harness (tests/pg.py) and real ``patterdash serve``
processes on 127.0.0.1; everything is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from patterdash.core.events import validate_event
from patterdash.store import open_store
from tests.factories import full_call
from tests.pg import PgServer, available, start_server, stop_server
from tests.reliability_helpers import ServerProcess
from tests.sse_client import SSEReader


def _events(prefix: str, count: int) -> list[dict[str, Any]]:
    calls = [ev for n in range(count // 6 + 1) for ev in full_call(f"{prefix}{n}", ts=1_700_000_000.0 + n)]
    return [validate_event({**ev, "id": f"{prefix}-{i}"}, now=1.0) for i, ev in enumerate(calls[:count])]


def append_rates(url: str, *, commits: int = 20, singles: int = 500) -> dict[str, float]:
    """Store-level append: 16 batches x 100 events per commit, and one event per commit (us/event)."""
    store = open_store(url)
    try:
        batched = _events("b", commits * 1600)
        started = time.perf_counter()
        for c in range(commits):
            chunk = batched[c * 1600 : (c + 1) * 1600]
            store.append([chunk[i : i + 100] for i in range(0, 1600, 100)], known_seq=store.max_seq())
        batch_us = (time.perf_counter() - started) / len(batched) * 1e6
        one_each = _events("s", singles)
        started = time.perf_counter()
        for ev in one_each:
            store.append([[ev]], known_seq=store.max_seq())
        single_us = (time.perf_counter() - started) / len(one_each) * 1e6
    finally:
        store.close()
    return {"batched_us_per_event": round(batch_us, 1), "single_us_per_commit": round(single_us, 1)}


async def _ingest_eps(bases: list[str], *, seconds: float = 5.0, clients: int = 8) -> float:
    """Events/s acknowledged by ``clients`` posters of 100-event batches spread over the nodes."""
    done = 0
    deadline = time.monotonic() + seconds

    async def poster(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal done
        k = 0
        while time.monotonic() < deadline:
            batch = [{**ev, "id": f"{ev['id']}-{n}-{k}"} for ev in _events(f"h{n}-{k}-", 100)]
            async with session.post(f"{bases[n % len(bases)]}/api/events", json=batch) as resp:
                assert resp.status == 200, await resp.text()
            done += 100
            k += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(poster(n, session) for n in range(clients)))
    return round(done / seconds)


async def _cross_node_ms(a: str, b: str, *, count: int = 300, rate: float = 100.0) -> dict[str, float]:
    """Post one event at a time on A at ``rate``/s; time until B's SSE stream shows it."""
    latencies = []
    async with aiohttp.ClientSession() as session, session.get(f"{b}/api/dashboard/events") as stream:
        reader = SSEReader(stream)
        for n in range(count):
            sent = time.perf_counter()
            body = [{"id": f"x{n}", "type": "call_start", "call_id": f"CA-x{n}", "data": {}}]
            async with session.post(f"{a}/api/events", json=body) as resp:
                assert resp.status == 200
            while (await reader.next_frame(timeout=5)).data["call_id"] != f"CA-x{n}":
                pass
            latencies.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - sent)))
    ordered = sorted(latencies)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * count) - 1], 1),
        "p99": round(ordered[int(0.99 * count) - 1], 1),
    }


def _nodes(url: str, root: Path, count: int) -> list[ServerProcess]:
    nodes = []
    for n in range(count):
        (root / f"n{n}").mkdir(parents=True)
        node = ServerProcess(url, workdir=root / f"n{n}")  # type: ignore[arg-type]
        node.start()
        nodes.append(node)
    return nodes


def workload(quick: bool) -> dict[str, Any]:
    """``python -m bench``'s entry: every figure, or why PostgreSQL cannot run here (one line)."""
    why = available()
    if why is not None:
        print(f"[bench] store skipped: {why}", file=sys.stderr, flush=True)
        return {"skipped": why}
    return run(quick=quick)


def run(*, quick: bool = False) -> dict[str, Any]:
    """Every figure of this workload, in one run on this machine (``quick``: fewer commits, shorter runs)."""
    counts = {"commits": 6, "singles": 100} if quick else {"commits": 20, "singles": 500}
    seconds, crossings = (2.0, 150) if quick else (5.0, 300)
    server: PgServer = start_server(durable=True)  # fsync on, as SQLite's synchronous=NORMAL
    out: dict[str, Any] = {"load_average_at_start": round(os.getloadavg()[0], 1), "quick": quick}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            out["append_sqlite"] = append_rates(str(root / "a.db"), **counts)
            out["append_postgres"] = append_rates(server.fresh_database(), **counts)
            for name, url in (("sqlite", str(root / "h.db")), ("postgres", server.fresh_database())):
                nodes = _nodes(url, root / name, 1 if name == "sqlite" else 2)
                try:
                    bases = [n.base_url for n in nodes]
                    out[f"ingest_eps_{name}_one_node"] = asyncio.run(_ingest_eps(bases[:1], seconds=seconds))
                    if len(nodes) == 2:
                        out[f"ingest_eps_{name}_two_nodes"] = asyncio.run(_ingest_eps(bases, seconds=seconds))
                        cross = _cross_node_ms(bases[0], bases[1], count=crossings)
                        out["cross_node_sse_ms_at_100_per_s"] = asyncio.run(cross)
                finally:
                    for node in nodes:
                        node.stop()
    finally:
        stop_server(server)
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
