"""``POST /v1/traces``: the OTLP/HTTP trace receiver (protobuf or JSON, gzip), thin over sources/otlp."""

from __future__ import annotations

import time
import zlib
from typing import Any

from aiohttp import web

from patterdash.core.events import validate_event
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.sources.otlp import SpanAssembler, check_times
from patterdash.sources.otlp_decode import Span, encode_response, spans_from_json, spans_from_protobuf
from patterdash.sources.prices import load_prices
from patterdash.web.errors import ApiError
from patterdash.web.keys import SERVICE, SETTINGS

__all__ = ["ASSEMBLER", "install", "metric_lines", "read_body", "traces", "upload_limit"]

ASSEMBLER = web.AppKey("otlp_assembler", SpanAssembler)
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


def install(app: web.Application, settings: Settings) -> None:
    """Give the app its span assembler (per-trace memory) and price table; a bad table stops start-up."""
    app[ASSEMBLER] = SpanAssembler(prices=load_prices(settings.price_table))


def upload_limit(request: web.Request) -> int | None:
    """The body cap of the upload routes (OTLP batches outgrow the API's), None for the others."""
    settings = request.app[SETTINGS]
    if request.path == "/observability/recordings/v0":  # audio plus a little header and chat history
        return settings.max_recording_bytes + 1024 * 1024
    if request.path == "/v1/traces" or request.path.startswith("/observability/"):
        return settings.otlp_max_body_bytes
    return None


async def read_body(request: web.Request, *, limit: int) -> bytes:
    """The request body, gunzipped when ``Content-Encoding: gzip``; 413 past ``limit`` either way."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise ApiError(415, "unsupported content encoding", "send identity or gzip")
    # aiohttp inflates gzip bodies as they stream in, and read() stops at the request's cap
    # (upload_limit): the cap bounds the inflated size, so a gzip bomb stops early
    body = await request.read()
    if encoding != "gzip" or body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # still gzip: the parser did not inflate it
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise ApiError(400, "malformed gzip body", str(e)) from e
    if len(out) > limit:
        raise ApiError(413, "request body too large once decompressed", {"max_bytes": limit})
    if not inflater.eof:
        raise ApiError(400, "malformed gzip body", "the gzip stream is truncated")
    return out


def _spans(body: bytes, content_type: str, settings: Settings) -> list[Span]:
    drop = settings.drop_pii_attributes
    if content_type == _PROTOBUF:
        return spans_from_protobuf(body, drop_pii=drop)
    return spans_from_json(body, drop_pii=drop)


def _turns_of(service: Service) -> Any:
    def turns(call_id: str) -> list[dict[str, Any]]:
        state = service.projection.get(call_id)
        return list(state.record.get("turns") or []) if state is not None else []

    return turns


async def append_spans(request: web.Request, spans: list[Span]) -> tuple[int, str]:
    """Map spans to events and append them (all or none); (rejected spans, why) for a partial success."""
    service = request.app[SERVICE]
    check_times(spans, now=service.clock())
    mapped = request.app[ASSEMBLER].map(spans, turns_of=_turns_of(service))
    if mapped.events:
        await service.append([validate_event(e, now=service.clock(), from_json=True) for e in mapped.events])
    return mapped.rejected, mapped.reason


async def traces(request: web.Request) -> web.Response:
    """OTLP/HTTP trace export (protobuf or JSON, gzip) -> native events; answers the spec's (partial) success."""
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    content_type = request.content_type
    if content_type not in (_PROTOBUF, _JSON):
        raise ApiError(415, "unsupported content type", f"send {_PROTOBUF} or {_JSON}")
    body = await read_body(request, limit=settings.otlp_max_body_bytes)
    rejected, reason = await append_spans(request, _spans(body, content_type, settings))
    request.app[SERVICE].stats.observe_ingest(time.perf_counter() - started)
    payload, ctype = encode_response(rejected=rejected, message=reason, as_json=content_type == _JSON)
    return web.Response(body=payload, content_type=ctype)


def metric_lines(app: web.Application) -> list[str]:
    """Prometheus lines: spans received, and spans skipped by reason."""
    assembler = app.get(ASSEMBLER)
    if assembler is None:
        return []
    lines = [
        "# HELP patterdash_otlp_spans_received_total OTLP spans received (traces and LiveKit uploads).",
        "# TYPE patterdash_otlp_spans_received_total counter",
        f"patterdash_otlp_spans_received_total {assembler.received}",
        "# HELP patterdash_otlp_spans_skipped_total OTLP spans not stored, by reason.",
        "# TYPE patterdash_otlp_spans_skipped_total counter",
    ]
    reasons = dict(assembler.skipped) or {"no conversation id": 0}
    lines += [f'patterdash_otlp_spans_skipped_total{{reason="{r}"}} {n}' for r, n in sorted(reasons.items())]
    return lines
