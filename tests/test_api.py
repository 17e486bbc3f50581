"""The HTTP API over a real server: shapes, filters, ingest, errors, deletes, static files."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.web.api_models import Aggregates, CallRecord, CallSummary, ErrorResponse, IngestResponse
from tests.conftest import StartClient
from tests.factories import event, full_call, metrics

Client = TestClient[Any, Any]


async def _seq(client: Client) -> int:
    return int((await (await client.get("/healthz")).json())["seq"])


async def _post(client: Client, events: list[dict[str, Any]]) -> None:
    resp = await client.post("/api/events", json=events)
    assert resp.status == 200, await resp.text()


# -- reads ----------------------------------------------------------------------


async def test_calls_are_newest_first_with_total_count_and_pagination(client: Client) -> None:
    for i in range(5):
        await _post(client, full_call(f"c{i}", ts=1000.0 + i))
    resp = await client.get("/api/dashboard/calls", params={"limit": 2, "offset": 1})
    body = await resp.json()
    assert resp.headers["X-Total-Count"] == "5"
    assert [c["call_id"] for c in body] == ["c3", "c2"]
    for record in body:
        CallRecord.model_validate(record)


async def test_summary_view_drops_transcript_and_turns_but_counts_turns(client: Client) -> None:
    await _post(client, full_call("c1"))
    (summary,) = await (await client.get("/api/dashboard/calls", params={"view": "summary"})).json()
    CallSummary.model_validate(summary)
    assert "transcript" not in summary and "turns" not in summary["metrics"] and summary["turn_count"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "busy"}, ["b"]),
        ({"direction": "outbound"}, ["b"]),
        ({"q": "REFUND"}, ["a"]),
        ({"q": "0002222"}, ["a"]),
        ({"from": "2023-11-14T22:20:00Z"}, ["b"]),
        ({"to": "2023-11-14T22:20:00+00:00"}, ["a"]),
    ],
)
async def test_call_filters(client: Client, params: dict[str, str], expected: list[str]) -> None:
    await _post(
        client,
        [
            event("call_start", "a", {"caller": "+15550001111", "callee": "+15550002222"}, ts=1_700_000_000.0),
            event("transcript_line", "a", {"role": "user", "text": "I want a refund"}, ts=1_700_000_001.0),
            event("call_end", "a", {"metrics": metrics("a")}, ts=1_700_000_010.0),
            event("call_initiated", "b", {"callee": "+15550003333"}, ts=1_700_000_500.0),
            event("call_status", "b", {"status": "busy"}, ts=1_700_000_505.0),
        ],
    )
    resp = await client.get("/api/dashboard/calls", params=params)
    assert [c["call_id"] for c in await resp.json()] == expected
    assert resp.headers["X-Total-Count"] == str(len(expected))


async def test_active_calls_and_detail_of_an_active_call(client: Client) -> None:
    await _post(client, full_call("done") + [event("call_start", "live", {"caller": "+15551230000"})])
    active = await (await client.get("/api/dashboard/active")).json()
    assert [c["call_id"] for c in active] == ["live"] and "ended_at" not in active[0]
    detail = await (await client.get("/api/dashboard/calls/live")).json()
    assert detail["status"] == "in-progress"


async def test_detail_of_a_call_outside_the_ring_is_folded_from_the_log(start_client: StartClient) -> None:
    client = await start_client(ring_size=1)
    await _post(client, full_call("old") + full_call("new"))
    assert [c["call_id"] for c in await (await client.get("/api/dashboard/calls")).json()] == ["new"]
    old = await (await client.get("/api/dashboard/calls/old")).json()
    assert old["call_id"] == "old" and old["status"] == "completed" and len(old["transcript"]) == 2


async def test_unknown_call_is_a_json_404(client: Client) -> None:
    resp = await client.get("/api/dashboard/calls/nope")
    assert resp.status == 404
    ErrorResponse.model_validate(await resp.json())


async def test_aggregates_shape_and_values(client: Client) -> None:
    await _post(client, full_call("a") + [event("call_start", "live")])
    agg = Aggregates.model_validate(await (await client.get("/api/dashboard/aggregates")).json())
    assert (agg.total_calls, agg.active_calls, agg.total_cost) == (1, 1, 0.05)
    assert agg.latency_percentiles.n == 1


# -- ingest ---------------------------------------------------------------------


async def test_patter_payloads_map_to_initiated_start_and_end(client: Client) -> None:
    initiated = await client.post(
        "/api/dashboard/ingest",
        json={
            "call_id": "p1",
            "caller": "+15550001111",
            "callee": "+15550002222",
            "direction": "outbound",
            "status": "initiated",
        },
    )
    started = await client.post("/api/dashboard/ingest", json={"call_id": "p1", "caller": "", "callee": ""})
    ended = await client.post(
        "/api/dashboard/ingest",
        json={
            "call_id": "p1",
            "ended_at": 1_700_000_100.0,
            "metrics": metrics("p1"),
            "transcript": [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello"}],
        },
    )
    kinds = [IngestResponse.model_validate(await r.json()).event for r in (initiated, started, ended)]
    assert kinds == ["initiated", "started", "ended"]
    record = await (await client.get("/api/dashboard/calls/p1")).json()
    assert (record["direction"], record["caller"], record["status"]) == ("outbound", "+15550001111", "completed")
    assert record["metrics"]["cost"]["total"] == 0.05 and len(record["transcript"]) == 2


async def test_resending_a_patter_payload_does_not_duplicate(client: Client) -> None:
    payload = {"call_id": "p1", "ended_at": 1_700_000_100.0, "metrics": metrics("p1")}
    first = await (await client.post("/api/dashboard/ingest", json=payload)).json()
    second = await (await client.post("/api/dashboard/ingest", json=payload)).json()
    assert first["seq"] == second["seq"] and await _seq(client) == 1


async def test_resending_native_events_with_ids_answers_the_same_seqs(client: Client) -> None:
    events = [{**e, "id": f"ev-{i}"} for i, e in enumerate(full_call("a"))]
    first = await (await client.post("/api/events", json=events)).json()
    second = await (await client.post("/api/events", json=events)).json()
    assert first["seqs"] == second["seqs"] == [1, 2, 3, 4, 5, 6] and await _seq(client) == 6


async def test_ndjson_body_is_accepted(client: Client) -> None:
    import json

    body = "\n".join(json.dumps(e) for e in full_call("a")) + "\n"
    resp = await client.post("/api/events", data=body, headers={"Content-Type": "application/x-ndjson"})
    assert (await resp.json())["count"] == 6


async def test_one_invalid_event_rejects_the_whole_batch(client: Client) -> None:
    batch = [*full_call("a"), {"type": "transcript_line", "call_id": "a", "data": {"role": "robot", "text": "x"}}]
    resp = await client.post("/api/events", json=batch)
    body = await resp.json()
    assert resp.status == 422 and body["detail"][0]["index"] == 6
    assert await _seq(client) == 0


BAD_BODIES: list[tuple[str, bytes, str, int]] = [
    ("/api/events", b"{not json", "application/json", 400),
    ("/api/events", b"\xff\xfe\x00garbage", "application/json", 400),
    ("/api/events", b"", "application/json", 400),
    ("/api/events", b'{"type": "call_start", "call_id": "a", "ts": NaN}', "application/json", 400),
    ("/api/events", b"[" * 200 + b"]" * 200, "application/json", 400),
    ("/api/events", b'{"type": "call_start", "call_id": "a", "ts": "yesterday"}', "application/json", 422),
    ("/api/events", b'{"type": "call_teleport", "call_id": "a"}', "application/json", 422),
    ("/api/events", b'{"type": "call_start"}', "application/json", 422),
    ("/api/events", b'{"type": "call_start", "call_id": ""}', "application/json", 422),
    ("/api/events", b'{"type": "turn_complete", "call_id": "a", "data": {"turn": "x"}}', "application/json", 422),
    ("/api/events", b'"just a string"', "application/json", 422),
    ("/api/events", b'{"type": "call_start", "call_id": "a"}\n{broken', "application/x-ndjson", 400),
    ("/api/dashboard/ingest", b"[1, 2]", "application/json", 422),
    ("/api/dashboard/ingest", b'{"caller": "+1555"}', "application/json", 422),
    ("/api/dashboard/ingest", b'{"call_id": "a", "ended_at": 5, "metrics": {"cost": "lots"}}', "application/json", 422),
    ("/api/dashboard/ingest", b"\xc3\x28", "application/json", 400),
]


@pytest.mark.parametrize(("path", "body", "ctype", "status"), BAD_BODIES)
async def test_bad_input_is_a_clear_4xx_and_appends_nothing(
    client: Client, path: str, body: bytes, ctype: str, status: int
) -> None:
    resp = await client.post(path, data=body, headers={"Content-Type": ctype})
    assert resp.status == status
    error = ErrorResponse.model_validate(await resp.json())
    assert error.error
    assert await _seq(client) == 0


async def test_oversized_body_is_413_and_appends_nothing(start_client: StartClient) -> None:
    client = await start_client(max_body_bytes=4096)
    big = [event("transcript_line", "a", {"role": "user", "text": "x" * 5000})]
    resp = await client.post("/api/events", json=big)
    assert resp.status == 413
    ErrorResponse.model_validate(await resp.json())
    assert await _seq(client) == 0


@pytest.mark.parametrize(
    "params",
    [
        {"direction": "sideways"},
        {"from": "not-a-date"},
        {"view": "xml"},
    ],
)
async def test_absurd_query_parameters_are_400(client: Client, params: dict[str, str]) -> None:
    resp = await client.get("/api/dashboard/calls", params=params)
    assert resp.status == 400
    ErrorResponse.model_validate(await resp.json())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": "1001"}, 3),  # clamped to 1000, as Patter 0.7.0 does: max(0, min(int(limit), 1000))
        ({"limit": "0"}, 0),
        ({"limit": "-5"}, 0),
        ({"limit": "ten"}, 3),  # a non-integer falls back to the default 50
        ({"limit": "2.5"}, 3),
        ({"limit": "2", "offset": "-1"}, 2),  # offset: max(int(offset), 0), 0 on a parse error
        ({"limit": "2", "offset": "x"}, 2),
        ({"offset": "99999999999"}, 0),
    ],
)
async def test_limit_and_offset_follow_patters_lenient_rule(
    client: Client, params: dict[str, str], expected: int
) -> None:
    await _post(client, full_call("a") + full_call("b") + full_call("c"))
    resp = await client.get("/api/dashboard/calls", params=params)
    assert resp.status == 200 and len(await resp.json()) == expected
    assert resp.headers["X-Total-Count"] == "3"


# -- deletes --------------------------------------------------------------------


async def test_soft_delete_skips_active_and_unknown_calls_and_keeps_history(client: Client) -> None:
    await _post(client, full_call("a") + full_call("b") + [event("call_start", "live")])
    resp = await client.post("/api/dashboard/calls/delete", json={"call_ids": ["a", "live", "nope"]})
    assert await resp.json() == {"deleted": ["a"], "count": 1}
    single = await (await client.delete("/api/dashboard/calls/b")).json()
    assert single == {"deleted": ["b"], "count": 1}
    again = await (await client.delete("/api/dashboard/calls/b")).json()
    assert again == {"deleted": [], "count": 0}
    assert await (await client.get("/api/dashboard/calls")).json() == []
    assert (await client.get("/api/dashboard/calls/a")).status == 404
    assert (await (await client.get("/api/dashboard/aggregates")).json())["total_calls"] == 0
    assert await _seq(client) == 15  # the log keeps every event, plus two calls_deleted


async def test_delete_with_a_bad_body_is_422(client: Client) -> None:
    resp = await client.post("/api/dashboard/calls/delete", json={"call_ids": "a"})
    assert resp.status == 422


# -- health, metrics, static ----------------------------------------------------


async def test_healthz_and_metrics(client: Client, log_backend: str) -> None:
    await _post(client, full_call("a"))
    backend = {"sqlite": "sqlite", "postgres": "postgresql"}[log_backend]
    health = await (await client.get("/healthz")).json()
    assert health == {"ok": True, "seq": 6, "writable": True, "backend": backend}
    text = await (await client.get("/metrics")).text()
    for name in (
        "patterdash_events_appended_total 6",
        "patterdash_sse_subscribers 0",
        "patterdash_active_calls 0",
        "patterdash_ingest_latency_seconds_count 1",
        "patterdash_store_errors_total 0",
        "patterdash_tail_lag_events 0",
    ):
        assert name in text


async def test_spa_is_served_with_csp_and_assets_cache_forever(client: Client) -> None:
    resp = await client.get("/")
    html = await resp.text()
    assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    import re

    asset = re.search(r'(?:src|href)="/(assets/[^"]+)"', html)
    assert asset, "index.html references no hashed asset"
    resp = await client.get("/" + asset.group(1))
    assert resp.status == 200 and "immutable" in resp.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path", ["/../pyproject.toml", "/assets/../../pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd", "/assets/%00x"]
)
async def test_static_path_traversal_is_404(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status in (400, 404)
    assert "[tool.pytest" not in await resp.text()


async def test_patter_payload_with_a_very_long_call_id_is_accepted_once(client: Client) -> None:
    long_id = "CA" + "7" * 190
    for _ in range(2):
        resp = await client.post("/api/dashboard/ingest", json={"call_id": long_id, "caller": "+15550001111"})
        assert resp.status == 200
    assert await _seq(client) == 1
    assert (await (await client.get(f"/api/dashboard/calls/{long_id}")).json())["call_id"] == long_id


async def test_null_text_fields_in_metrics_read_as_empty(client: Client) -> None:
    m = metrics("a")
    m.update(error_code=None, llm_model=None)
    resp = await client.post("/api/events", json=[event("call_end", "a", {"metrics": m})])
    assert resp.status == 200
    record = await (await client.get("/api/dashboard/calls/a")).json()
    assert (record["metrics"]["error_code"], record["metrics"]["llm_model"]) == ("", "")


def test_non_finite_numbers_from_python_callers_are_rejected_or_nulled() -> None:
    from patterdash.core.events import EventValidationError, validate_event

    status = {"type": "call_status", "call_id": "a", "data": {"status": "busy", "extra": [float("nan")]}}
    assert validate_event(status, now=1.0)["data"]["extra"] == [None]  # unknown keys: stored as JSON null
    for raw in (
        {"type": "call_start", "call_id": "a", "ts": float("inf")},
        {"type": "turn_complete", "call_id": "a", "data": {"turn": {"latency": {"stt_ms": float("nan")}}}},
        {"type": "call_end", "call_id": "a", "data": {"metrics": {"duration_seconds": "1e999"}}},
    ):
        with pytest.raises(EventValidationError):
            validate_event(raw, now=1.0)


async def test_a_wrong_method_on_an_api_route_is_405_and_unknown_api_paths_404(client: Client) -> None:
    resp = await client.get("/api/events")
    assert resp.status == 405 and "POST" in resp.headers["Allow"]
    ErrorResponse.model_validate(await resp.json())
    assert (await client.get("/api/nope")).status == 404
