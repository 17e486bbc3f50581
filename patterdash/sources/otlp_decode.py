"""OTLP/HTTP trace bodies (protobuf or JSON) -> plain ``Span`` records. No I/O.

Both encodings of ``ExportTraceServiceRequest`` land in the same small shape, so the mapping
(``patterdash.sources.otlp``) never sees protobuf classes or JSON spellings.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from patterdash.sources.ingest import BadPayload, parse_json

__all__ = ["MAX_SPANS", "Span", "encode_response", "spans_from_json", "spans_from_protobuf"]

MAX_SPANS = 5_000  # an SDK's batch is 512 spans by default; far more is a mistake or an attack
_MAX_ATTR_DEPTH = 8
_STATUS_ERROR = 2


@dataclass(frozen=True)
class Span:
    """One finished span: ids in lowercase hex, times in Unix nanoseconds, attributes as Python values."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    error: bool = False
    status_message: str = ""

    @property
    def start(self) -> float:
        """Start time in epoch seconds."""
        return self.start_ns / 1e9

    @property
    def end(self) -> float:
        """End time in epoch seconds."""
        return self.end_ns / 1e9

    @property
    def duration_ms(self) -> float:
        """Duration in milliseconds."""
        return max(0, self.end_ns - self.start_ns) / 1e6


def _drop_pii(attributes: dict[str, Any], *, drop_pii: bool) -> dict[str, Any]:
    # LiveKit puts transcripts and user data under ``lk.pii.*``: with the switch on they are never stored
    if not drop_pii:
        return attributes
    return {k: v for k, v in attributes.items() if ".pii." not in f".{k}."}


# -- protobuf -------------------------------------------------------------------


def _pb_value(value: AnyValue, depth: int = 0) -> Any:
    kind = value.WhichOneof("value")
    if kind is None or depth > _MAX_ATTR_DEPTH:
        return None
    if kind == "array_value":
        return [_pb_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def spans_from_protobuf(body: bytes, *, drop_pii: bool = False) -> list[Span]:
    """An ``application/x-protobuf`` ExportTraceServiceRequest -> spans; BadPayload when it does not parse."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError, RecursionError) as e:
        raise BadPayload("malformed OTLP protobuf", {"message": str(e)[:200]}) from e
    spans: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _pb_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            if len(spans) + len(scope_spans.spans) > MAX_SPANS:
                raise BadPayload("too many spans in one request", {"max": MAX_SPANS})
            for s in scope_spans.spans:
                attributes = {kv.key: _pb_value(kv.value) for kv in s.attributes}
                spans.append(
                    Span(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes=_drop_pii(attributes, drop_pii=drop_pii),
                        resource=resource,
                        error=s.status.code == _STATUS_ERROR,
                        status_message=s.status.message,
                    )
                )
    return spans


# -- JSON (OTLP/JSON: lowerCamelCase keys, hex ids, 64-bit integers as strings or numbers) ----


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    return obj.get(camel, obj.get(snake))


def _json_value(value: Any, depth: int = 0) -> Any:
    if not isinstance(value, dict) or depth > _MAX_ATTR_DEPTH:
        return None
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value")):
        if (v := _get(value, camel, snake)) is not None:
            return v
    if (v := _get(value, "intValue", "int_value")) is not None:
        return int(v)
    if (v := _get(value, "doubleValue", "double_value")) is not None:
        return float(v)
    if (v := _get(value, "arrayValue", "array_value")) is not None:
        return [_json_value(item, depth + 1) for item in (v.get("values") or [])]
    if (v := _get(value, "kvlistValue", "kvlist_value")) is not None:
        return _json_attributes(v.get("values"), depth + 1)
    return _get(value, "bytesValue", "bytes_value")


def _json_attributes(items: Any, depth: int = 0) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ValueError("attributes must be a list of {key, value}")
    out: dict[str, Any] = {}
    for kv in items:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise ValueError("an attribute needs a string key")
        out[kv["key"]] = _json_value(kv.get("value"), depth)
    return out


def _json_id(raw: Any, size: int, *, required: bool) -> str:
    if raw in (None, "") and not required:
        return ""
    if not isinstance(raw, str):
        raise ValueError("span ids are hex strings")
    try:
        decoded = bytes.fromhex(raw)
    except ValueError:
        # protobuf's generic JSON mapping writes bytes as base64; accept that spelling too
        try:
            decoded = base64.b64decode(raw, validate=True)
        except binascii.Error as e:
            raise ValueError(f"not a hex id: {raw[:40]!r}") from e
    if len(decoded) != size:
        raise ValueError(f"an id of {size} bytes was expected, got {len(decoded)}")
    return decoded.hex()


def _json_span(s: Any, resource: dict[str, Any], *, drop_pii: bool) -> Span:
    if not isinstance(s, dict):
        raise ValueError("a span must be an object")
    status = s.get("status") or {}
    return Span(
        trace_id=_json_id(_get(s, "traceId", "trace_id"), 16, required=True),
        span_id=_json_id(_get(s, "spanId", "span_id"), 8, required=True),
        parent_id=_json_id(_get(s, "parentSpanId", "parent_span_id"), 8, required=False),
        name=str(s.get("name") or ""),
        start_ns=int(_get(s, "startTimeUnixNano", "start_time_unix_nano") or 0),
        end_ns=int(_get(s, "endTimeUnixNano", "end_time_unix_nano") or 0),
        attributes=_drop_pii(_json_attributes(s.get("attributes")), drop_pii=drop_pii),
        resource=resource,
        error=status.get("code") in (_STATUS_ERROR, "STATUS_CODE_ERROR"),
        status_message=str(status.get("message") or ""),
    )


def spans_from_json(body: bytes, *, drop_pii: bool = False) -> list[Span]:
    """An ``application/json`` ExportTraceServiceRequest -> spans; BadPayload when it is not OTLP."""
    doc = parse_json(body)
    if not isinstance(doc, dict) or not isinstance(_get(doc, "resourceSpans", "resource_spans") or [], list):
        raise BadPayload("not an OTLP trace request", {"expected": '{"resourceSpans": [...]}'})
    spans: list[Span] = []
    try:
        for rs in _get(doc, "resourceSpans", "resource_spans") or []:
            resource = _json_attributes(((rs or {}).get("resource") or {}).get("attributes"))
            for ss in _get(rs, "scopeSpans", "scope_spans") or []:
                batch = ss.get("spans") or []
                if len(spans) + len(batch) > MAX_SPANS:
                    raise BadPayload("too many spans in one request", {"max": MAX_SPANS})
                spans.extend(_json_span(s, resource, drop_pii=drop_pii) for s in batch)
    except BadPayload:
        raise
    except (ValueError, TypeError, AttributeError) as e:
        raise BadPayload("not an OTLP trace request", {"message": str(e)[:200]}) from e
    return spans


def encode_response(*, rejected: int, message: str, as_json: bool) -> tuple[bytes, str]:
    """The spec's success answer: empty, or ``partial_success`` naming how many spans were rejected and why."""
    if as_json:
        if not rejected:
            return b"{}", "application/json"
        doc = {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
        return orjson.dumps(doc), "application/json"
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    return response.SerializeToString(), "application/x-protobuf"
