"""A real OpenTelemetry SDK + OTLP/HTTP exporter pointed at a test server, and spans shaped like Pipecat's."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

T0 = 1_780_000_000.0  # a fixed wall clock for span times


def ns(seconds: float) -> int:
    """Epoch seconds -> Unix nanoseconds."""
    return int(seconds * 1e9)


class Recorder(SpanExporter):
    """Keeps what the SDK exports, so a test can post the exact encoded body itself (retries, JSON)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def protobuf(self) -> bytes:
        """The spans as the OTLP/HTTP exporter would send them (ExportTraceServiceRequest)."""
        return encode_spans(self.spans).SerializeToString()

    def json(self) -> dict[str, Any]:
        """The spans as OTLP/JSON: lowerCamelCase keys, hex trace/span ids (the spec's JSON encoding)."""
        doc = MessageToDict(encode_spans(self.spans))
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:
                            span[key] = base64.b64decode(span[key]).hex()
        return doc


class Sdk:
    """A TracerProvider exporting through the real OTLP/HTTP exporter (gzip) on a background thread."""

    def __init__(self, endpoint: str | None, *, token: str | None = None, service: str = "pipecat") -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.recorder = Recorder()
        if endpoint is not None:
            headers = {"Authorization": f"Bearer {token}"} if token else None
            self.exporter = OTLPSpanExporter(endpoint=endpoint, headers=headers, compression=Compression.Gzip)
            self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.provider.add_span_processor(BatchSpanProcessor(self.recorder))
        self.tracer = self.provider.get_tracer("pipecat.test")

    async def flush(self) -> None:
        """Export everything ended so far (the exporter is synchronous: off the event loop)."""
        assert await asyncio.to_thread(self.provider.force_flush, 10_000)

    def shutdown(self) -> None:
        """Stop the processors' threads."""
        self.provider.shutdown()

    @contextmanager
    def span(self, name: str, start: float, end: float, parent: Any = None, **attrs: Any) -> Iterator[Any]:
        """A span with explicit times (seconds), as a parent context for children."""
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(name, context=context, start_time=ns(start), attributes=attrs)
        try:
            yield span
        finally:
            span.end(end_time=ns(end))


def pipecat_turn(sdk: Sdk, conversation: Any, conv_id: str, number: int, t: float, **extra: Any) -> None:
    """One Pipecat turn (turn -> stt, llm, tts) with Pipecat's span names and attributes."""
    with sdk.span(
        "turn", t, t + 4, conversation, **{"turn.number": number, "turn.type": "conversation",
                                           "conversation.id": conv_id, "turn.was_interrupted": False,
                                           "turn.user_bot_latency_seconds": 0.9, **extra}
    ) as turn:  # fmt: skip
        with sdk.span("stt", t, t + 1.2, turn, **{"gen_ai.provider.name": "deepgram",
                                                   "gen_ai.request.model": "nova-3", "transcript": f"question {number}",
                                                   "is_final": True, "metrics.ttfb": 0.15,
                                                   "metrics.audio_seconds": 1.2}):  # fmt: skip
            pass
        with sdk.span("llm", t + 1.2, t + 2.0, turn, **{"gen_ai.provider.name": "openai",
                                                         "gen_ai.request.model": "gpt-4o-mini",
                                                         "gen_ai.operation.name": "chat", "output": f"answer {number}",
                                                         "metrics.ttfb": 0.4, "gen_ai.usage.input_tokens": 1000,
                                                         "gen_ai.usage.output_tokens": 50}):  # fmt: skip
            pass
        with sdk.span("tts", t + 1.6, t + 3.0, turn, **{"gen_ai.provider.name": "cartesia",
                                                         "gen_ai.request.model": "sonic-2", "text": f"answer {number}",
                                                         "metrics.character_count": 8, "metrics.ttfb": 0.25,
                                                         "voice_id": "v1"}):  # fmt: skip
            pass
