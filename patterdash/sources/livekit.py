"""LiveKit Agents' observability upload -> native events. No I/O.

A stock LiveKit agent with ``LIVEKIT_OBSERVABILITY_URL`` set sends OTLP/HTTP protobuf (gzip) to
``/observability/{traces,logs,metrics}/otlp/v0`` and, when a session ends, a multipart upload to
``/observability/recordings/v0`` (``header.binpb``, ``chat_history.json``, ``recording.ogg``), each
with a LiveKit access token (an HS256 JWT signed with the API secret, with an observability grant).

The call id is the LiveKit job id (every span carries ``job_id``; the recording header too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from patterdash.sources.ingest import BadPayload
from patterdash.sources.otlp import SpanAssembler, Trace
from patterdash.sources.otlp_decode import Span
from patterdash.sources.otlp_turns import LLM_NAMES, STT_NAMES, TTS_NAMES, event_id, text, turn_from_parts

__all__ = [
    "LiveKitAssembler",
    "LiveKitAuthError",
    "RecordingHeader",
    "chat_transcript",
    "parse_header",
    "recording_call_end",
    "verify_token",
]

_LEEWAY_S = 30.0  # clock skew between the agent's host and this one


class LiveKitAuthError(ValueError):
    """The upload's token is missing, malformed, wrongly signed, expired, or lacks the grant."""


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_token(token: str | None, *, api_key: str, secret: str, now: float) -> dict[str, Any]:
    """The claims of a LiveKit access token allowed to write observability, else LiveKitAuthError."""
    if not token:
        raise LiveKitAuthError("a LiveKit access token is required (Authorization: Bearer <jwt>)")
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        header, claims, signature = orjson.loads(_b64(head_b64)), orjson.loads(_b64(body_b64)), _b64(sig_b64)
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as e:
        raise LiveKitAuthError("malformed access token") from e
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise LiveKitAuthError("the access token must be an HS256 JWT")
    expected = hmac.new(secret.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise LiveKitAuthError("the access token's signature does not match the API secret")
    if not hmac.compare_digest(str(claims.get("iss", "")).encode(), api_key.encode()):
        raise LiveKitAuthError("the access token was issued for another API key")
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or exp + _LEEWAY_S < now:
        raise LiveKitAuthError("the access token has expired")
    if isinstance(nbf, int | float) and nbf - _LEEWAY_S > now:
        raise LiveKitAuthError("the access token is not valid yet")
    grant = claims.get("observability")
    if not isinstance(grant, dict) or grant.get("write") is not True:
        raise LiveKitAuthError("the access token lacks the observability write grant")
    return claims


# -- header.binpb: livekit.MetricsRecordingHeader, read with a small protobuf wire reader ------


@dataclass(frozen=True)
class RecordingHeader:
    """The fields of ``MetricsRecordingHeader`` patterdash uses."""

    room_id: str = ""
    room_name: str = ""
    job_id: str = ""
    duration_ms: int = 0
    start_time: float = 0.0  # epoch seconds the audio recording started


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise BadPayload("malformed recording header", "a varint runs past the end")
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return result, pos


def _fields(data: bytes) -> dict[int, int | bytes]:
    out: dict[int, int | bytes] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            out[number], pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise BadPayload("malformed recording header", "a field runs past the end")
            out[number], pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise BadPayload("malformed recording header", f"unsupported wire type {wire}")
    return out


def parse_header(data: bytes) -> RecordingHeader:
    """``header.binpb`` -> RecordingHeader; BadPayload when it does not parse or names no job."""
    fields = _fields(data)

    def string(number: int) -> str:
        value = fields.get(number, b"")
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""

    start = fields.get(4, b"")
    stamp = _fields(start) if isinstance(start, bytes) else {}
    seconds, nanos, duration = stamp.get(1, 0), stamp.get(2, 0), fields.get(3, 0)
    header = RecordingHeader(
        room_id=string(1),
        room_name=string(6),
        job_id=string(8),
        duration_ms=duration if isinstance(duration, int) else 0,
        start_time=(seconds if isinstance(seconds, int) else 0) + (nanos if isinstance(nanos, int) else 0) / 1e9,
    )
    if not header.job_id and not header.room_id:
        raise BadPayload("malformed recording header", "it names no job and no room")
    return header


def call_id_for(header: RecordingHeader) -> str:
    """The call a recording belongs to: its job (as the spans say), else its room."""
    return header.job_id or header.room_id


def chat_transcript(doc: Any) -> list[dict[str, Any]]:
    """``chat_history.json`` (``ChatContext.to_dict``) -> transcript lines (user and assistant messages)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise BadPayload("chat_history.json is not a LiveKit chat history", {"expected": '{"items": [...]}'})
    lines = []
    for item in doc["items"]:
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            continue
        if item.get("role") not in ("user", "assistant"):
            continue
        content = item.get("content")
        parts = content if isinstance(content, list) else [content]
        said = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if said:
            line: dict[str, Any] = {"role": item["role"], "text": said}
            if isinstance(item.get("created_at"), int | float):
                line["timestamp"] = float(item["created_at"])
            lines.append(line)
    return lines


def recording_call_end(header: RecordingHeader, transcript: list[dict[str, Any]], *, now: float) -> dict[str, Any]:
    """The upload as a ``call_end``: the chat history becomes the call's transcript."""
    call_id = call_id_for(header)
    data: dict[str, Any] = {"transcript": transcript, "source": "livekit"}
    if header.start_time:
        data["started_at"] = header.start_time
        if header.duration_ms:
            data["ended_at"] = header.start_time + header.duration_ms / 1000
    return {
        "id": event_id("livekit", "recording", call_id),
        "type": "call_end",
        "call_id": call_id,
        "ts": data.get("ended_at") or now,
        "data": data,
    }


class LiveKitAssembler(SpanAssembler):
    """LiveKit's span names: ``agent_session`` ends the call, ``agent_turn`` is a turn whose user side
    is the ``user_turn`` just before it (a sibling, not a child); ``function_tool`` is a tool call."""

    roots = frozenset({"agent_session"})
    turns = frozenset({"agent_turn"})
    parts = STT_NAMES | LLM_NAMES | TTS_NAMES
    source = "livekit"

    def call_id_of(self, span: Span) -> str | None:
        """The job id LiveKit stamps on every span of a job (the room when there is no job)."""
        for key in ("job_id", "lk.job_id", "room_id", "lk.room_sid"):
            value = text(span.attributes.get(key))
            if value:
                return value[:200]
        return None

    def is_root(self, span: Span) -> bool:
        """``agent_session`` may sit under the job's entrypoint span: its name alone says it."""
        return span.name in self.roots

    def _turn(self, trace: Trace, head: Span, position: int) -> dict[str, Any]:
        under = {head.span_id}
        parts: list[Span] = []
        for _ in range(3):  # agent_turn -> llm_node -> llm_request: a few levels down
            found = [p for p in trace.parts.values() if p.parent_id in under and p.span_id not in under]
            under |= {p.span_id for p in found}
            parts += found
        user = [
            p
            for p in trace.parts.values()
            if p.name == "user_turn" and p.span_id not in trace.claimed and p.end_ns <= head.start_ns + 10**9
        ]
        if user:
            latest = max(user, key=lambda p: p.end_ns)
            trace.claimed.add(latest.span_id)
            parts.append(latest)
        trace.turn_ids.add(head.span_id)
        trace.claimed |= {p.span_id for p in parts}
        return turn_from_parts(position, parts, head=head, prices=self.prices)
