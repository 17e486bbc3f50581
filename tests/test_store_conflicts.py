"""Re-used event ids (issue 17 point 6): the answer stays idempotent, the conflict is visible."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import event

Client = TestClient[Any, Any]


def _line(id_: str, text: str) -> dict[str, Any]:
    return event("transcript_line", "CA-dup", {"turnIndex": 0, "role": "user", "text": text}, id=id_, ts=1.0)


async def _metric(client: Client, name: str) -> float:
    text = await (await client.get("/metrics")).text()
    (value,) = [line.split()[1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(value)


async def test_an_id_resent_with_other_content_is_flagged_and_the_first_content_kept(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    first = await (await client.post("/api/events", json=[_line("e1", "hello"), _line("e2", "x")])).json()
    assert first["conflicts"] == [False, False]
    retry = await (await client.post("/api/events", json=[_line("e1", "hello")])).json()
    assert (retry["seqs"], retry["conflicts"]) == ([first["seqs"][0]], [False])  # a plain retry
    caplog.set_level(logging.WARNING, logger="patterdash.service")
    for n in range(5):
        resp = await client.post("/api/events", json=[_line("e3", "new"), _line("e1", f"changed {n}")])
        answer = await resp.json()
        assert resp.status == 200
        assert answer["seqs"][1] == first["seqs"][0]  # idempotent: the first seq
        assert answer["conflicts"] == [False, True]  # e3 is new, then a plain retry
    assert await _metric(client, "patterdash_event_id_conflicts_total") == 5
    warnings = [r for r in caplog.records if "different content" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited
    call = await (await client.get("/api/dashboard/calls/CA-dup")).text()
    assert "hello" in call and "changed" not in call


async def test_a_conflict_inside_one_batch_is_flagged_on_the_later_event(client: Client) -> None:
    answer = await (await client.post("/api/events", json=[_line("b1", "one"), _line("b1", "two")])).json()
    assert answer["seqs"][0] == answer["seqs"][1]
    assert answer["conflicts"] == [False, True]


async def test_the_patter_route_says_conflict_for_a_changed_resend(client: Client) -> None:
    body = {"call_id": "CA-p", "caller": "+15550001111", "callee": "+15550002222"}
    first = await (await client.post("/api/dashboard/ingest", json=body)).json()
    again = await (await client.post("/api/dashboard/ingest", json=body)).json()
    changed = await (await client.post("/api/dashboard/ingest", json={**body, "caller": "+15559999999"})).json()
    assert (first["conflict"], again["conflict"], changed["conflict"]) == (False, False, True)
    assert first["seq"] == again["seq"] == changed["seq"]
