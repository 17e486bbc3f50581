"""POST /v1/traces with the real OpenTelemetry SDK and OTLP/HTTP exporter: Pipecat-shaped spans -> calls."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.conftest import TOKEN, StartClient
from tests.otlp_helpers import T0, Sdk, pipecat_turn

Client = TestClient[Any, Any]


@pytest.fixture
async def sdk_for() -> AsyncIterator[Callable[..., Sdk]]:
    """Make SDKs exporting to a test server; shut them all down afterwards."""
    made: list[Sdk] = []

    def make(client: Client | None, **kw: Any) -> Sdk:
        endpoint = str(client.make_url("/v1/traces")) if client is not None else None
        sdk = Sdk(endpoint, **kw)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        await asyncio.to_thread(sdk.shutdown)


async def _call(client: Client, call_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/dashboard/calls/{call_id}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _seq(client: Client) -> int:
    return int((await (await client.get("/healthz")).json())["seq"])


async def test_pipecat_call_is_live_from_its_first_turn_and_ends_with_totals(
    client: Client, sdk_for: Callable[..., Sdk]
) -> None:
    sdk = sdk_for(client)
    with sdk.span("conversation", T0, T0 + 20, **{"conversation.id": "conv-1", "conversation.type": "voice"}) as conv:
        pipecat_turn(sdk, conv, "conv-1", 1, T0 + 1)
        await sdk.flush()
        active = await (await client.get("/api/dashboard/active")).json()
        assert [c["call_id"] for c in active] == ["conv-1"]
        (turn,) = active[0]["turns"]
        assert turn["turn_index"] == 1
        assert turn["latency"]["stt_ms"] == 150.0
        assert turn["latency"]["llm_ms"] == 400.0 and turn["latency"]["llm_ttft_ms"] == 400.0
        assert turn["latency"]["tts_ms"] == 250.0
        assert turn["latency"]["total_ms"] == 900.0 and turn["latency"]["agent_response_ms"] == 900.0
        assert turn["latency"]["llm_total_ms"] == 800.0
        assert (turn["user_text"], turn["agent_text"]) == ("question 1", "answer 1")
        assert [(line["role"], line["text"]) for line in active[0]["transcript"]] == [
            ("user", "question 1"),
            ("assistant", "answer 1"),
        ]
        pipecat_turn(sdk, conv, "conv-1", 2, T0 + 6)
    await sdk.flush()
    call = await _call(client, "conv-1")
    assert call["status"] == "completed"
    assert (call["started_at"], call["ended_at"]) == (pytest.approx(T0), pytest.approx(T0 + 20))
    metrics = call["metrics"]
    assert metrics["duration_seconds"] == 20.0
    assert [t["turn_index"] for t in metrics["turns"]] == [1, 2]
    assert (metrics["llm_input_tokens"], metrics["llm_output_tokens"], metrics["tts_characters"]) == (2000, 100, 16)
    assert (metrics["stt_provider"], metrics["llm_model"], metrics["tts_provider"]) == (
        "deepgram",
        "gpt-4o-mini",
        "cartesia",
    )
    assert metrics["latency_avg"]["total_ms"] == 900.0 and metrics["provider_mode"] == "pipeline"
    assert "cost" not in metrics or metrics["cost"]["total"] == 0.0  # no price table: cost unknown


async def test_price_table_gives_cost_per_turn_and_call(
    start_client: StartClient, sdk_for: Callable[..., Sdk], tmp_path: Any
) -> None:
    table = tmp_path / "prices.json"
    table.write_bytes(
        orjson.dumps(
            {
                "llm": {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}},
                "stt": {"deepgram": {"per_minute": 0.006}},
                "tts": {"cartesia/sonic-2": {"per_million_characters": 50.0}},
            }
        )
    )
    client = await start_client(price_table=table)
    sdk = sdk_for(client)
    with sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "priced"}) as conv:
        pipecat_turn(sdk, conv, "priced", 1, T0 + 1)
    await sdk.flush()
    cost = (await _call(client, "priced"))["metrics"]["cost"]
    assert cost["llm"] == pytest.approx((1000 * 0.15 + 50 * 0.6) / 1e6)
    assert cost["stt"] == pytest.approx(1.2 / 60 * 0.006)
    assert cost["tts"] == pytest.approx(8 * 50.0 / 1e6)
    assert cost["total"] == pytest.approx(cost["llm"] + cost["stt"] + cost["tts"])
    aggregates = await (await client.get("/api/dashboard/aggregates")).json()
    assert aggregates["total_cost"] == pytest.approx(cost["total"])


async def test_exporter_retry_of_the_same_batch_appends_nothing(client: Client, sdk_for: Callable[..., Sdk]) -> None:
    sdk = sdk_for(None)  # record only: the test posts the encoded body itself, twice
    with sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "again"}) as conv:
        pipecat_turn(sdk, conv, "again", 1, T0 + 1)
    await sdk.flush()
    body = sdk.recorder.protobuf()
    headers = {"Content-Type": "application/x-protobuf"}
    first = await client.post("/v1/traces", data=body, headers=headers)
    assert first.status == 200 and first.content_type == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(await first.read()).HasField("partial_success")
    seq = await _seq(client)
    again = await client.post("/v1/traces", data=gzip.compress(body), headers={**headers, "Content-Encoding": "gzip"})
    assert again.status == 200
    assert await _seq(client) == seq
    call = await _call(client, "again")
    assert len(call["turns"]) == 1 and len(call["transcript"]) == 2


async def test_json_encoding_maps_like_protobuf(client: Client, sdk_for: Callable[..., Sdk]) -> None:
    sdk = sdk_for(None)
    with sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "as-json"}) as conv:
        pipecat_turn(sdk, conv, "as-json", 1, T0 + 1)
    await sdk.flush()
    resp = await client.post("/v1/traces", json=sdk.recorder.json())
    assert resp.status == 200 and await resp.json() == {}
    call = await _call(client, "as-json")
    assert call["turns"][0]["latency"]["tts_ms"] == 250.0
    assert call["metrics"]["llm_output_tokens"] == 50


async def test_turn_parts_exported_before_their_turn_still_make_its_breakdown(
    client: Client, sdk_for: Callable[..., Sdk]
) -> None:
    sdk = sdk_for(client)
    with (
        sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "split"}) as conv,
        sdk.span("turn", T0, T0 + 5, conv, **{"turn.number": 1, "conversation.id": "split"}) as turn,
    ):
        with sdk.span("stt", T0, T0 + 1, turn, **{"transcript": "hi", "metrics.ttfb": 0.2}):
            pass
        await sdk.flush()  # the stt span reaches the server alone, before its call id is known
        assert (await client.get("/api/dashboard/calls/split")).status == 404
    await sdk.flush()
    call = await _call(client, "split")
    assert call["turns"][0]["latency"]["stt_ms"] == 200.0
    assert call["turns"][0]["user_text"] == "hi"


async def test_tool_calls_and_unknown_spans_join_the_call_timeline(client: Client, sdk_for: Callable[..., Sdk]) -> None:
    sdk = sdk_for(client)
    with sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "tools"}) as conv:
        with sdk.span("llm_tool_call", T0 + 1, T0 + 2, conv, **{"tool.function_name": "lookup_order",
                                                                 "tool.arguments": '{"id": 7}'}):  # fmt: skip
            pass
        with sdk.span("flow_node_entered", T0 + 3, T0 + 3.5, conv, node="greeting"):
            pass
    await sdk.flush()
    events = (await _call(client, "tools"))["events"]
    assert [(e["kind"], e["name"]) for e in events] == [("tool_call", "lookup_order"), ("span", "flow_node_entered")]
    assert events[0]["detail"]["attributes"]["tool.arguments"] == '{"id": 7}'
    assert events[1]["detail"]["duration_ms"] == 500.0


async def test_span_without_any_conversation_id_is_skipped_counted_and_answered_partial(client: Client) -> None:
    sdk = Sdk(None)
    with sdk.span("GET /health", T0, T0 + 0.1):
        pass
    await sdk.flush()
    seq = await _seq(client)
    resp = await client.post("/v1/traces", json=sdk.recorder.json())
    assert resp.status == 200
    partial = (await resp.json())["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "conversation id" in partial["errorMessage"]
    assert await _seq(client) == seq
    text = await (await client.get("/metrics")).text()
    assert 'patterdash_otlp_spans_skipped_total{reason="no conversation id"} 1' in text
    await asyncio.to_thread(sdk.shutdown)


async def test_traces_need_an_ingest_token_as_a_bearer_header(
    start_client: StartClient, sdk_for: Callable[..., Sdk]
) -> None:
    client = await start_client(token=TOKEN)
    refused = await client.post("/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf"})
    assert refused.status == 401
    sdk = sdk_for(client, token=TOKEN)
    with sdk.span("conversation", T0, T0 + 10, **{"conversation.id": "authed"}):
        pass
    await sdk.flush()
    resp = await client.get("/api/dashboard/calls/authed", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200


def test_held_parts_keep_what_was_said_and_cut_prompts_and_evicted_waiting_spans_are_counted() -> None:
    from patterdash.sources.otlp import NO_CONVERSATION, SpanAssembler
    from patterdash.sources.otlp_decode import Span

    def span(trace: int, sid: int, name: str, **attrs: Any) -> Span:
        return Span(f"{trace:032x}", f"{sid:016x}", f"{sid + 1000:016x}", name, 1, 2, attributes=attrs)

    assembler = SpanAssembler(max_traces=2)
    said = "yes " * 1000
    assembler.map([span(1, 1, "llm", input="x" * 1_000_000, output=said)], turns_of=lambda _: [])
    (held,) = assembler.traces[f"{1:032x}"].waiting.values()
    assert len(held.attributes["input"]) == 256 and held.attributes["output"] == said
    for trace in (2, 3):  # two more traces that never name a conversation push the first one out
        assembler.map([span(trace, trace, "stt")], turns_of=lambda _: [])
    assert assembler.skipped[NO_CONVERSATION] == 1 and assembler.held == 2
