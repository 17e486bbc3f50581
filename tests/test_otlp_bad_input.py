"""Hostile or broken OTLP bodies: a clear 4xx in the JSON error shape, nothing stored."""

from __future__ import annotations

import asyncio
import gzip
import io
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import StartClient
from tests.otlp_helpers import T0, Sdk

Client = TestClient[Any, Any]
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _span(i: int, *, start: float = T0, end: float = T0 + 1) -> dict[str, Any]:
    return {
        "traceId": f"{i + 1:032x}",
        "spanId": f"{i + 1:016x}",
        "name": "conversation",
        "startTimeUnixNano": str(int(start * 1e9)),
        "endTimeUnixNano": str(int(end * 1e9)),
        "attributes": [{"key": "conversation.id", "value": {"stringValue": f"c{i}"}}],
    }


def _request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}


async def _refused(client: Client, resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error", "detail"}
    assert (await (await client.get("/healthz")).json())["seq"] == 0
    return dict(body)


async def test_malformed_protobuf_is_a_400(client: Client) -> None:
    resp = await client.post("/v1/traces", data=b"\x0a\xff\xff\xff\xff\x0f garbage", headers=PROTOBUF)
    body = await _refused(client, resp, 400)
    assert "protobuf" in body["error"]


@pytest.mark.parametrize(
    "doc",
    [[1, 2], {"resourceSpans": "nope"}, {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}],
)
async def test_json_that_is_not_otlp_is_a_400(client: Client, doc: Any) -> None:
    await _refused(client, await client.post("/v1/traces", json=doc), 400)


async def test_a_ten_thousand_span_batch_is_refused_whole(client: Client) -> None:
    body = io.BytesIO(orjson.dumps(_request([_span(i) for i in range(10_000)])))
    resp = await client.post("/v1/traces", data=body, headers={"Content-Type": "application/json"})
    body = await _refused(client, resp, 400)
    assert body["detail"] == {"max": 5000}


@pytest.mark.parametrize(
    ("start", "end"),
    [(0.0, 1.0), (T0 + 5, T0), (T0, T0 + 10 * 365 * 86400)],
    ids=["epoch-zero", "ends-before-start", "ten-years-ahead"],
)
async def test_spans_with_absurd_times_refuse_the_batch(client: Client, start: float, end: float) -> None:
    resp = await client.post("/v1/traces", json=_request([_span(0), _span(1, start=start, end=end)]))
    body = await _refused(client, resp, 400)
    assert body["detail"]["count"] == 1


async def test_wrong_content_type_is_a_415(client: Client) -> None:
    await _refused(client, await client.post("/v1/traces", data=b"{}", headers={"Content-Type": "text/plain"}), 415)


async def test_truncated_gzip_is_a_400(client: Client) -> None:
    body = gzip.compress(b'{"resourceSpans": []}' * 50)[:-12]
    resp = await client.post("/v1/traces", data=body, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert 400 <= resp.status < 500
    assert (await (await client.get("/healthz")).json())["seq"] == 0


async def test_a_gzip_bomb_stops_at_the_cap(start_client: StartClient) -> None:
    client = await start_client(otlp_max_body_bytes=64 * 1024)
    bomb = gzip.compress(b"\x00" * (8 * 1024 * 1024))
    resp = await client.post("/v1/traces", data=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    await _refused(client, resp, 413)


async def test_drop_pii_attributes_never_stores_pii_keys(start_client: StartClient) -> None:
    client = await start_client(drop_pii_attributes=True)
    sdk = Sdk(None)
    with (
        sdk.span("conversation", T0, T0 + 5, **{"conversation.id": "pii"}) as conv,
        sdk.span("odd", T0, T0 + 1, conv, **{"lk.pii.user_id": "alice", "plain": "kept"}),
    ):
        pass
    await asyncio.to_thread(sdk.provider.force_flush)
    assert (await client.post("/v1/traces", data=sdk.recorder.protobuf(), headers=PROTOBUF)).status == 200
    (event,) = (await (await client.get("/api/dashboard/calls/pii")).json())["events"]
    assert event["detail"]["attributes"] == {"plain": "kept"}
    await asyncio.to_thread(sdk.shutdown)
