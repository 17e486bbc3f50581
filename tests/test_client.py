"""The agents' client against real servers: batching, retry after an outage, idempotency, bounds."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from patterdash.client import PatterdashClient, SyncPatterdashClient
from patterdash.settings import Settings
from patterdash.store.sqlite import EventLog
from patterdash.web.app import create_app
from patterdash.web.keys import SERVICE
from tests.conftest import TOKEN, StartClient
from tests.factories import full_call


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("")).rstrip("/")


async def _wait_for(predicate: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def _log_count(db: Path) -> int:
    log = EventLog(db)
    try:
        return log.max_seq()
    finally:
        log.close()


@pytest.fixture
async def server_on(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[[int], Awaitable[TestServer]]]:
    """Start a real server on a given port (same log file every time)."""
    servers: list[TestServer] = []

    async def start(port: int) -> TestServer:
        server = TestServer(create_app(make_settings()), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def test_events_are_sent_in_few_batches(client: TestClient[Any, Any]) -> None:
    stats = client.server.app[SERVICE].stats
    async with PatterdashClient(_url(client), batch_size=100, flush_interval=0.05) as pd:
        for i in range(250):
            pd.emit("call_event", "c1", {"kind": "tool_call", "name": f"t{i}"})
        assert await pd.flush(within=10)
        assert pd.stats.sent == 250
    assert stats.events_appended >= 250
    assert stats.ingest_count <= 5  # 250 events, batches of 100: three or so requests, not 250


async def test_a_whole_call_arrives_as_one_record(client: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(client)) as pd:
        for ev in full_call("c1"):
            pd.emit(ev["type"], ev["call_id"], ev["data"], ts=ev["ts"])
        assert await pd.flush()
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert record["status"] == "completed"
    assert [line["text"] for line in record["transcript"]] == ["hello", "hi"]


async def test_retries_after_the_server_comes_back_without_duplicates(
    server_on: Callable[[int], Awaitable[TestServer]], db_path: Path
) -> None:
    port = _free_port()
    first = await server_on(port)
    pd = PatterdashClient(f"http://127.0.0.1:{port}", backoff=(0.05, 0.2), flush_interval=0.01)
    pd.emit("call_start", "c1", {"caller": "+15550001111"})
    assert await pd.flush()
    await first.close()
    for i in range(20):
        pd.emit("call_event", "c1", {"kind": "tool_call", "name": f"t{i}"})
    await _wait_for(lambda: _async(pd.stats.attempts_failed > 0))
    assert pd.pending == 20
    await server_on(port)
    assert await pd.flush(within=10)
    await pd.close()
    assert pd.stats.sent == 21
    assert pd.stats.dropped == 0
    assert _log_count(db_path) == 21


async def _async(value: bool) -> bool:
    return value


async def test_resending_the_same_ids_appends_nothing(client: TestClient[Any, Any], db_path: Path) -> None:
    async with PatterdashClient(_url(client)) as pd:
        for _ in range(3):
            pd.emit("call_start", "c1", {}, event_id="fixed-start")
            pd.emit("call_status", "c1", {"status": "ringing"}, event_id="fixed-status")
            assert await pd.flush()
        assert pd.stats.sent == 6
    assert client.server.app[SERVICE].projection.last_seq == 2
    assert _log_count(db_path) == 2


async def test_a_full_queue_drops_the_oldest_and_counts_them(client: TestClient[Any, Any]) -> None:
    pd = PatterdashClient(_url(client), max_queue=10)
    started = time.perf_counter()
    for i in range(25):  # no await: the sender has not run, the queue alone holds events
        pd.emit("call_event", "c1", {"kind": "k", "name": f"n{i}"})
    assert time.perf_counter() - started < 0.5
    assert pd.stats.dropped == 15
    assert pd.pending == 10
    assert await pd.flush()
    await pd.close()
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert [e["name"] for e in record["events"]] == [f"n{i}" for i in range(15, 25)]


async def test_a_dead_dashboard_never_raises_or_blocks_the_caller() -> None:
    pd = PatterdashClient(f"http://127.0.0.1:{_free_port()}", timeout=0.5, backoff=(0.01, 0.05))
    started = time.perf_counter()
    for i in range(1000):
        pd.emit("call_event", "c1", {"kind": "k", "name": str(i)})
    assert time.perf_counter() - started < 0.5
    assert await pd.flush(within=0.3) is False
    await pd.close(within=0.2)
    assert pd.stats.sent == 0
    assert pd.stats.dropped == 1000
    pd.emit("call_event", "c1", {"kind": "after-close"})  # still no exception
    assert pd.stats.dropped == 1001


async def test_an_invalid_event_is_isolated_and_the_rest_delivered(client: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(client), flush_interval=0.05) as pd:
        pd.emit("call_start", "c1", {"caller": "+1"})
        pd.emit("call_start", "c2", {"direction": "sideways"})  # refused by the server (422)
        pd.emit("call_status", "c1", {"status": "ringing"})
        pd.emit("call_event", "c1", {"kind": "tool_call", "value": object()})  # not JSON: sent as text
        assert await pd.flush()
    assert pd.stats.rejected == 1
    assert pd.stats.sent == 3
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert record["status"] == "ringing"
    assert (await client.get("/api/dashboard/calls/c2")).status == 404


async def test_the_ingest_token_is_sent_as_bearer(secured: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(secured), token=TOKEN) as pd:
        pd.emit("call_start", "c1", {})
        assert await pd.flush()
    wrong = PatterdashClient(_url(secured), token="nope", backoff=(0.01, 0.02))
    wrong.emit("call_start", "c2", {})
    assert await wrong.flush(within=0.3) is False
    await wrong.close(within=0)
    assert wrong.stats.attempts_failed > 0


async def test_the_sync_client_reports_from_plain_threads(start_client: StartClient, db_path: Path) -> None:
    client = await start_client()

    def agent_code() -> tuple[bool, int]:
        with SyncPatterdashClient(_url(client)) as pd:
            for ev in full_call("sync-1"):
                pd.emit(ev["type"], ev["call_id"], ev["data"], ts=ev["ts"])
            ok = pd.flush(5)
            return ok, pd.stats.sent

    ok, sent = await asyncio.to_thread(agent_code)
    assert ok and sent == 6
    record = await (await client.get("/api/dashboard/calls/sync-1")).json()
    assert record["status"] == "completed"


async def test_emitting_from_another_thread_hops_onto_the_clients_loop(client: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(client)) as pd:
        pd.emit("call_start", "c1", {})

        def webhook_thread() -> None:
            for i in range(50):
                pd.emit("call_event", "c1", {"kind": "k", "name": str(i)})

        await asyncio.to_thread(webhook_thread)
        await _wait_for(lambda: _async(pd.stats.queued == 51))
        assert await pd.flush()
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert len(record["events"]) == 50
