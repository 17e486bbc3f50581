"""Crash safety: SIGKILL mid-stream loses no acknowledged event; SIGTERM drains in-flight appends.

A real ``patterdash serve`` process takes sustained concurrent ingest; it is killed at
several points, restarted on the same file, and the file and the API are checked
against what the server acknowledged.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.reliability_helpers import (
    IngestTally,
    ServerProcess,
    api_snapshot,
    drive_ingest,
    full_fold,
    integrity,
    log_ids,
    record_figure,
    wait_until_async,
    wal_is_empty,
)

pytestmark = pytest.mark.slow

# Seconds of ingest before each SIGKILL, on ONE file: early (start-up just done),
# mid-stream, and after a longer run with the WAL well grown.
KILL_POINTS = (0.15, 0.6, 1.3, 2.5)


async def _open_streams(base: str, count: int) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60))
    for _ in range(count):
        resp = await session.get(f"{base}/api/dashboard/events")
        assert resp.status == 200  # left open (not read): the server must end it at shutdown
    return session


def assert_acked_present_once(db: Path, acked: set[str]) -> list[str]:
    ids = log_ids(db)
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"events stored twice: {dupes[:5]}"
    missing = acked - set(ids)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    return ids


def assert_projection_is_a_fresh_rebuild(server: ServerProcess, db: Path) -> None:
    live = api_snapshot(server.base_url)
    fresh = full_fold(db)
    assert live["aggregates"] == fresh["aggregates"]
    assert [c["call_id"] for c in live["ring"]] == [c["call_id"] for c in fresh["ring"]]
    assert live["ring"] == fresh["ring"]
    assert live["active"] == fresh["active"]


async def test_sigkill_mid_stream_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    server = ServerProcess(db)
    tally = IngestTally()
    try:
        for round_, kill_after in enumerate(KILL_POINTS):
            server.start()
            seq_before = server.health()["seq"]
            stop = asyncio.Event()
            driver = asyncio.create_task(drive_ingest(server.base_url, tally, stop, workers=8, prefix=f"r{round_}"))
            acked_before = len(tally.acked)
            # wait for traffic to flow, then for the kill point; the driver keeps posting through the kill
            await wait_until_async(lambda n=acked_before: len(tally.acked) > n, within=20, what="first ack")
            await asyncio.sleep(kill_after)  # the kill point itself, not a wait for a condition
            server.kill()
            stop.set()
            await asyncio.wait_for(driver, timeout=40)
            assert len(tally.acked) > acked_before

            assert integrity(db) == "ok"  # before any restart: the file as the crash left it
            ids = assert_acked_present_once(db, tally.acked)

            server.start()  # restart on the same file
            assert server.health()["seq"] == len(ids) >= seq_before
            assert_projection_is_a_fresh_rebuild(server, db)
            server.stop()
            assert integrity(db) == "ok"
    finally:
        server.stop()
    stored = set(log_ids(db))
    record_figure("crash.kill_points", len(KILL_POINTS))
    record_figure("crash.events_acknowledged", len(tally.acked))
    record_figure("crash.events_recovered", len(tally.acked & stored))
    record_figure("crash.events_stored_unacknowledged", len(stored - tally.acked))
    record_figure("crash.client_errors_at_kill", sum(tally.errors.values()))


async def test_sigterm_drains_in_flight_appends_and_exits_zero(tmp_path: Path) -> None:
    db = tmp_path / "term.db"
    server = ServerProcess(db)
    tally = IngestTally()
    try:
        server.start()
        stop = asyncio.Event()
        driver = asyncio.create_task(drive_ingest(server.base_url, tally, stop, workers=16, prefix="t"))
        streams = await _open_streams(server.base_url, 5)  # open SSE streams must not hold up the stop
        await wait_until_async(lambda: len(tally.acked) > 500, within=20, what="sustained ingest")
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.wait, timeout=30)
        took = time.monotonic() - signalled
        stop.set()
        await asyncio.wait_for(driver, timeout=40)
        await streams.close()
        assert code == 0, server.stderr()
        assert took < 8.0  # well inside the 10 s shutdown timeout: streams ended, appends drained
        assert "stopped" in server.stderr()
        assert "Traceback" not in server.stderr()
        ids = assert_acked_present_once(db, tally.acked)
        # and nothing was committed without its answer reaching the client
        assert set(ids) == tally.acked
        assert integrity(db) == "ok"
        # the clean stop checkpointed and removed the WAL: the file alone holds everything
        assert wal_is_empty(db)

        server.start()
        assert_projection_is_a_fresh_rebuild(server, db)
    finally:
        server.stop()
    record_figure("sigterm.events_acknowledged", len(tally.acked))
    record_figure("sigterm.seconds_to_exit_with_5_sse_streams", round(took, 2))
    record_figure("sigterm.client_errors_after_signal", dict(tally.errors))
