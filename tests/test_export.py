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


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("+14155550100", "+14155550100"),
        ("-3.5", "-3.5"),
        ("+1e5", "+1e5"),
        ("-.5", "-.5"),
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+A1*2", "'+A1*2"),
        ("-2+3", "'-2+3"),
        ("+", "'+"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("hello", "hello"),
        ("", ""),
    ],
)
def test_csv_defuses_formulas_but_keeps_numbers_and_phone_numbers(cell: str, written: str) -> None:
    from patterdash.export import neutralise

    assert neutralise(cell) == written
    assert neutralise(-3.5) == -3.5


async def test_csv_times_are_iso_utc_and_json_keeps_patters_epoch_numbers(client: Client) -> None:
    import csv
    import io

    await _post(client, full_call("t", ts=1_796_130_324.123))  # 2026-12-01T13:05:24.123Z
    text = await (await client.get("/api/dashboard/export/calls?format=csv")).text()
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["started_at"], row["ended_at"]) == ("2026-12-01T13:05:24.123Z", "2026-12-01T13:05:54.123Z")
    turns = await (await client.get("/api/dashboard/export/calls?format=csv&per=turn")).text()
    assert next(csv.DictReader(io.StringIO(turns)))["timestamp"] == "2023-11-14T22:13:20.000Z"
    record = (await (await client.get("/api/dashboard/export/calls?format=json")).json())[0]
    assert record["started_at"] == 1_796_130_324.123
