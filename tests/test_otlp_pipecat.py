"""Pipecat's own tracing code (setup_tracing, TurnTraceObserver, its span-attribute helpers) -> a call.

The pipeline's frames are not run (that needs transports and VAD); the test drives Pipecat's turn
observer through the same hooks its turn tracker calls, and opens service spans the way its
``traced_stt`` / ``traced_llm`` / ``traced_tts`` decorators do, with Pipecat's attribute helpers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

pytest.importorskip("pipecat", reason="pip install 'patterdash[otel]'")

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from pipecat.observers.turn_tracking_observer import TurnTrackingObserver
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
from pipecat.utils.tracing.service_attributes import (
    add_llm_span_attributes,
    add_stt_span_attributes,
    add_tts_span_attributes,
)
from pipecat.utils.tracing.setup import setup_tracing
from pipecat.utils.tracing.tracing_context import TracingContext
from pipecat.utils.tracing.turn_trace_observer import TurnTraceObserver

Client = TestClient[Any, Any]


async def _turn(observer: TurnTraceObserver, context: TracingContext, number: int) -> None:
    await observer._handle_turn_started(number)
    parent = context.get_turn_context()
    tracer = trace.get_tracer("pipecat")
    stt = tracer.start_span("stt", context=parent)
    add_stt_span_attributes(stt, "DeepgramSTTService", "nova-3", transcript=f"where is order {number}",
                            is_final=True, ttfb=0.12)  # fmt: skip
    stt.end()
    with tracer.start_as_current_span("llm", context=parent) as llm:
        add_llm_span_attributes(llm, "OpenAILLMService", "gpt-4o-mini", output=f"order {number} ships today",
                                ttfb=0.35)  # fmt: skip
        llm.set_attribute("gen_ai.usage.input_tokens", 420)
        llm.set_attribute("gen_ai.usage.output_tokens", 12)
    tts = tracer.start_span("tts", context=parent)
    add_tts_span_attributes(tts, "CartesiaTTSService", "sonic-2", "voice-1", text=f"order {number} ships today",
                            character_count=21, ttfb=0.2)  # fmt: skip
    tts.end()
    await observer._handle_latency_measured(0.8)
    await observer._handle_turn_ended(number, 2.5, False)


async def test_pipecat_tracing_code_exported_over_otlp_makes_a_call_with_turns(client: Client) -> None:
    exporter = OTLPSpanExporter(endpoint=str(client.make_url("/v1/traces")))
    assert setup_tracing("pipecat-test", exporter=exporter)
    provider: Any = trace.get_tracer_provider()
    context = TracingContext()
    observer = TurnTraceObserver(TurnTrackingObserver(), UserBotLatencyObserver(), conversation_id="pc-call-1",
                                 tracing_context=context)  # fmt: skip
    observer.start_conversation_tracing("pc-call-1")
    await _turn(observer, context, 1)
    assert await asyncio.to_thread(provider.force_flush, 10_000)
    active = await (await client.get("/api/dashboard/active")).json()
    assert [c["call_id"] for c in active] == ["pc-call-1"]
    await _turn(observer, context, 2)
    observer.end_conversation_tracing()
    assert await asyncio.to_thread(provider.force_flush, 10_000)
    call = await (await client.get("/api/dashboard/calls/pc-call-1")).json()
    assert call["status"] == "completed"
    assert [t["turn_index"] for t in call["turns"]] == [1, 2]
    latency = call["turns"][0]["latency"]
    assert (latency["stt_ms"], latency["llm_ttft_ms"], latency["tts_ms"], latency["total_ms"]) == (120, 350, 200, 800)
    assert call["transcript"][:2] == [
        {"role": "user", "text": "where is order 1", "timestamp": call["transcript"][0]["timestamp"], "turnIndex": 1},
        {"role": "assistant", "text": "order 1 ships today", "timestamp": call["transcript"][1]["timestamp"],
         "turnIndex": 1},
    ]  # fmt: skip
    metrics = call["metrics"]
    assert (metrics["llm_provider"], metrics["stt_provider"], metrics["tts_provider"]) == (
        "openai",
        "deepgram",
        "cartesia",
    )
    assert (metrics["llm_input_tokens"], metrics["tts_characters"]) == (840, 42)
    await asyncio.to_thread(provider.shutdown)
