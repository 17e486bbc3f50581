"""Issue 17.3: a slowloris cannot take the server down under the common 1,024 open-file limit.

A real ``patterdash serve`` is started under ``ulimit -n 1024``; 1,100 connections each trickle
one header byte every 2 s (reconnecting when dropped, as the real tool does) while /healthz and
an ingest client probe it. Every probe must be answered, and the shedding must be logged
(rate-limited).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from tests import reliability_helpers
from tests.reliability_helpers import ServerProcess, call_events, record_figure

pytestmark = pytest.mark.slow

TOKEN = "slowloris-admin-token-0123456789"
ATTACKERS = 1_100
ATTACK_SECONDS = 14.0
TRICKLE_EVERY = 2.0


async def _slow_client(host: str, port: int, stop: asyncio.Event, stats: dict[str, int]) -> None:
    """One slowloris connection: a request head sent one byte at a time, reopened when dropped."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 4000
    while not stop.is_set():
        writer = None
        try:
            _, writer = await asyncio.open_connection(host, port)
            stats["opened"] += 1
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TRICKLE_EVERY)
                if stop.is_set():
                    break
        except OSError:
            stats["dropped"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        finally:
            if writer is not None:
                writer.close()


async def _probe(base_url: str, stop: asyncio.Event, results: dict[str, list[float | None]], n: list[int]) -> None:
    """Every 0.5 s: one /healthz and one authenticated ingest, each on a fresh connection."""
    timeout = aiohttp.ClientTimeout(total=5)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True), timeout=timeout) as session:
        while not stop.is_set():
            for kind, method, path, body in (
                ("healthz", "GET", "/healthz", None),
                ("ingest", "POST", "/api/events", call_events(f"probe-{n[0]}", ts=1_700_000_000.0, turns=1)),
            ):
                started = time.perf_counter()
                try:
                    async with session.request(method, base_url + path, json=body, headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                results[kind].append(time.perf_counter() - started if ok else None)
            n[0] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def _attack(base_url: str) -> tuple[dict[str, list[float | None]], dict[str, int]]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    stop = asyncio.Event()
    stats = {"opened": 0, "dropped": 0}
    results: dict[str, list[float | None]] = {"healthz": [], "ingest": []}
    attackers = [asyncio.create_task(_slow_client(host, int(port), stop, stats)) for _ in range(ATTACKERS)]
    await asyncio.sleep(2.0)  # let the connections pile up before probing
    probe = asyncio.create_task(_probe(base_url, stop, results, [0]))
    await asyncio.sleep(ATTACK_SECONDS)
    stop.set()
    await probe
    await asyncio.wait(attackers, timeout=10)
    for task in attackers:
        task.cancel()
    return results, stats


def test_slowloris_under_1024_open_files_leaves_health_and_ingest_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = tmp_path / "patterdash-ulimited"
    wrapper.write_text(f'#!/bin/sh\nulimit -n 1024 || exit 99\nexec "{reliability_helpers.PATTERDASH}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(reliability_helpers, "PATTERDASH", wrapper)
    server = ServerProcess(tmp_path / "patterdash.db", "--token", TOKEN)
    try:
        base_url = server.start()
        limits = Path(f"/proc/{server.pid}/limits").read_text()
        assert any(line.startswith("Max open files") and " 1024 " in line for line in limits.splitlines()), limits
        results, stats = asyncio.run(_attack(base_url))
        assert server.healthy()
        request = urllib.request.Request(f"{base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            metrics = resp.read().decode()
    finally:
        server.stop()
    for kind, samples in results.items():
        answered = [s for s in samples if s is not None]
        record_figure(f"slowloris_{kind}_answered", f"{len(answered)}/{len(samples)}")
        if answered:
            record_figure(f"slowloris_{kind}_p50_ms", round(statistics.median(answered) * 1000, 1))
            record_figure(f"slowloris_{kind}_max_ms", round(max(answered) * 1000, 1))
    record_figure("slowloris_connections_opened", stats["opened"])
    shed = int(re.search(r"^patterdash_connections_shed_total (\d+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    record_figure("slowloris_connections_shed", shed)
    assert shed > 0
    stderr = server.stderr()
    shed_lines = [line for line in stderr.splitlines() if "shedding idle or slow connections" in line]
    record_figure("slowloris_shed_log_lines", len(shed_lines))
    assert results["healthz"] and all(s is not None for s in results["healthz"]), results["healthz"]
    assert results["ingest"] and all(s is not None for s in results["ingest"]), results["ingest"]
    assert stats["opened"] > ATTACKERS  # the cap was reached: connections were shed and reopened
    assert 1 <= len(shed_lines) <= ATTACK_SECONDS / 10 + 3  # logged, and rate-limited
