"""Exports: the same filters as the calls table, CSV that is safe and faithful, JSON that keeps Patter's numbers."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import event, full_call

Client = TestClient[Any, Any]
DAY = 86_400.0
T0 = 1_780_000_000.0  # 2026-05-28


async def _post(client: Client, events: list[dict[str, Any]]) -> None:
    resp = await client.post("/api/events", json=events)
    assert resp.status == 200, await resp.text()


async def _mixed_calls(client: Client) -> None:
    """Four calls that differ in status, direction, words said and day."""
    await _post(client, full_call("in-ok", ts=T0))
    await _post(client, full_call("in-later", ts=T0 + 3 * DAY))
    await _post(client, [event("call_initiated", "out-busy", {"caller": "+15550009999"}, ts=T0 + 60)])
    await _post(client, [event("call_status", "out-busy", {"status": "busy"}, ts=T0 + 70)])
    await _post(client, [event("call_initiated", "out-ok", {"callee": "+15550003333"}, ts=T0 + 120)])
    await _post(client, [event("call_start", "out-ok", {}, ts=T0 + 121)])
    await _post(client, [event("transcript_line", "out-ok", {"role": "user", "text": "refund please"}, ts=T0 + 122)])
    await _post(client, [event("call_end", "out-ok", {}, ts=T0 + 150)])


@pytest.mark.parametrize("scope", ["ring", "all"])
@pytest.mark.parametrize(
    "query",
    [
        "status=busy",
        "direction=outbound",
        "direction=inbound",
        "q=REFUND",
        "q=0009999",
        "from=2026-05-30",
        "to=2026-05-29&direction=inbound",
        "status=completed&direction=outbound&q=refund",
    ],
)
async def test_the_export_keeps_exactly_the_calls_the_table_shows(client: Client, scope: str, query: str) -> None:
    await _mixed_calls(client)
    table = await (await client.get(f"/api/dashboard/calls?{query}")).json()
    resp = await client.get(f"/api/dashboard/export/calls?format=json&scope={scope}&{query}")
    assert resp.status == 200
    exported = await resp.json()
    assert table, query  # each filter keeps something, so the comparison means something
    assert sorted(c["call_id"] for c in exported) == sorted(c["call_id"] for c in table)


async def test_a_bad_export_filter_is_a_json_400(client: Client) -> None:
    resp = await client.get("/api/dashboard/export/calls?direction=sideways")
    assert resp.status == 400 and (await resp.json())["error"] == "invalid direction"
