"""SSE contract: framing, live delivery, resume by Last-Event-ID with no loss and no duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import StartClient
from tests.factories import event, full_call
from tests.sse_client import SSEReader

Client = TestClient[Any, Any]


async def test_frames_carry_seq_type_and_patter_shaped_data(client: Client) -> None:
    async with client.get("/api/dashboard/events") as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        reader = SSEReader(resp)
        await client.post("/api/events", json=full_call("a"))
        frames = await reader.frames(6)
    assert [f.id for f in frames] == [1, 2, 3, 4, 5, 6]
    assert [f.event for f in frames] == [
        "call_start",
        "transcript_line",
        "transcript_line",
        "turn_complete",
        "call_event",
        "call_end",
    ]
    assert all(f.data["call_id"] == "a" and f.data["seq"] == f.id for f in frames)
    assert frames[3].data["turn"]["turn_index"] == 0
    assert frames[5].data["metrics"]["cost"]["total"] == 0.05


async def test_resume_with_last_event_id_replays_from_the_log_then_goes_live(client: Client) -> None:
    await client.post("/api/events", json=full_call("a") + full_call("b"))
    async with client.get("/api/dashboard/events", headers={"Last-Event-ID": "4"}) as resp:
        reader = SSEReader(resp)
        replayed = await reader.frames(8)
        await client.post("/api/events", json=[event("call_start", "c")])
        live = await reader.next_frame()
    assert [f.id for f in replayed] == list(range(5, 13))
    assert live.id == 13 and live.data["call_id"] == "c"


async def test_resume_by_query_parameter(client: Client) -> None:
    await client.post("/api/events", json=full_call("a"))
    async with client.get("/api/dashboard/events", params={"last_event_id": "5"}) as resp:
        (frame,) = await SSEReader(resp).frames(1)
    assert frame.id == 6


async def test_a_reconnecting_client_loses_nothing_and_sees_nothing_twice(client: Client) -> None:
    seen: list[int] = []
    producer_done = asyncio.Event()

    async def produce() -> None:
        for i in range(40):
            await client.post("/api/events", json=[event("call_start", f"c{i}")])
        producer_done.set()

    task = asyncio.create_task(produce())
    last: int | None = None
    while len(seen) < 40:
        headers = {} if last is None else {"Last-Event-ID": str(last)}
        async with client.get("/api/dashboard/events", headers=headers) as resp:
            reader = SSEReader(resp)
            for _ in range(7):  # drop the connection every few frames
                if len(seen) == 40:
                    break
                frame = await reader.next_frame()
                seen.append(frame.id)
                last = frame.id
        if last is None:
            last = 0
    await task
    assert seen == list(range(1, 41))


async def test_keepalive_comments_are_sent(start_client: StartClient) -> None:
    client = await start_client(sse_keepalive=0.1)
    async with client.get("/api/dashboard/events") as resp:
        comment = await SSEReader(resp).next_comment(timeout=3)
    assert comment == ": ping"


async def test_bad_last_event_id_is_400(client: Client) -> None:
    resp = await client.get("/api/dashboard/events", headers={"Last-Event-ID": "abc"})
    assert resp.status == 400


async def test_subscriber_count_is_exposed_in_metrics(client: Client) -> None:
    async with client.get("/api/dashboard/events") as resp:
        await client.post("/api/events", json=[event("call_start", "x")])
        await SSEReader(resp).next_frame()
        text = await (await client.get("/metrics")).text()
        assert "patterdash_sse_subscribers 1" in text
