"""The basic round trip over a real server: ingest, read, aggregates."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.factories import full_call


async def test_a_whole_call_posted_as_native_events_is_listed(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/events", json=full_call("c1"))
    assert resp.status == 200
    assert (await resp.json())["seqs"] == [1, 2, 3, 4, 5, 6]
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert [c["call_id"] for c in calls] == ["c1"]
    assert calls[0]["status"] == "completed"
    assert [line["text"] for line in calls[0]["transcript"]] == ["hello", "hi"]
    assert calls[0]["events"][0]["kind"] == "tool_call"
