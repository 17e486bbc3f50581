"""LiveKit Agents' ``/observability/*`` upload (LiveKit JWT auth) and ``GET .../recording`` (Range)."""

from __future__ import annotations

import email.parser
import email.policy
import time
from email.message import Message
from typing import Any

import orjson
from aiohttp import web

from patterdash.core.events import validate_event
from patterdash.recordings import RecordingStore, TooLarge, recordings_dir, stored_event
from patterdash.sources.ingest import BadPayload, parse_json
from patterdash.sources.livekit import (
    LiveKitAssembler,
    LiveKitAuthError,
    call_id_for,
    chat_transcript,
    parse_header,
    recording_call_end,
    verify_token,
)
from patterdash.sources.otlp import check_times
from patterdash.sources.otlp_decode import encode_response, spans_from_protobuf
from patterdash.sources.prices import load_prices
from patterdash.web.errors import ApiError
from patterdash.web.keys import SERVICE, SETTINGS
from patterdash.web.otlp import read_body

__all__ = ["LIVEKIT", "RECORDINGS", "install", "otlp_other", "recording", "recordings_upload", "traces"]

LIVEKIT = web.AppKey("livekit_assembler", LiveKitAssembler)
RECORDINGS = web.AppKey("recordings", RecordingStore)
_PROTOBUF = "application/x-protobuf"


def install(app: web.Application) -> None:
    """The LiveKit span assembler and the recording store (when a directory applies)."""
    settings = app[SETTINGS]
    app[LIVEKIT] = LiveKitAssembler(prices=load_prices(settings.price_table))
    if (root := recordings_dir(settings)) is not None:
        app[RECORDINGS] = RecordingStore(root, settings.max_recording_bytes)


def _authorise(request: web.Request) -> None:
    """Only uploads signed with the configured LiveKit API secret; refused outright when none is set."""
    settings = request.app[SETTINGS]
    if not settings.livekit_api_key or settings.livekit_api_secret is None:
        raise ApiError(
            401, "LiveKit uploads are not enabled", "set PATTERDASH_LIVEKIT_API_KEY and PATTERDASH_LIVEKIT_API_SECRET"
        )
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    try:
        verify_token(
            token,
            api_key=settings.livekit_api_key,
            secret=settings.livekit_api_secret.get_secret_value(),
            now=request.app[SERVICE].clock(),
        )
    except LiveKitAuthError as e:
        raise ApiError(401, "unauthorized", str(e)) from e


async def traces(request: web.Request) -> web.Response:
    """``/observability/traces/otlp/v0``: LiveKit's spans -> call events (as ``POST /v1/traces``)."""
    started = time.perf_counter()
    _authorise(request)
    settings, service = request.app[SETTINGS], request.app[SERVICE]
    if request.content_type != _PROTOBUF:
        raise ApiError(415, "unsupported content type", f"send {_PROTOBUF}")
    spans = spans_from_protobuf(
        await read_body(request, limit=settings.otlp_max_body_bytes), drop_pii=settings.drop_pii_attributes
    )
    check_times(spans, now=service.clock())

    def turns_of(call_id: str) -> list[dict[str, Any]]:
        state = service.projection.get(call_id)
        return list(state.record.get("turns") or []) if state is not None else []

    mapped = request.app[LIVEKIT].map(spans, turns_of=turns_of)
    if mapped.events:
        await service.append([validate_event(e, now=service.clock(), from_json=True) for e in mapped.events])
    service.stats.observe_ingest(time.perf_counter() - started)
    body, ctype = encode_response(rejected=mapped.rejected, message=mapped.reason, as_json=False)
    return web.Response(body=body, content_type=ctype)


async def otlp_other(request: web.Request) -> web.Response:
    """``/observability/{logs,metrics}/otlp/v0``: accepted (authenticated, size-capped) and not stored."""
    _authorise(request)
    await read_body(request, limit=request.app[SETTINGS].otlp_max_body_bytes)
    # an empty Export{Logs,Metrics}ServiceResponse is zero bytes: the spec's full success
    return web.Response(body=b"", content_type=_PROTOBUF)


def _parts(body: bytes, content_type: str) -> dict[str, Message]:
    """A multipart/form-data body -> its parts by form name; BadPayload when truncated or malformed."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise BadPayload("malformed multipart body", [type(d).__name__ for d in message.defects][:5] or None)
    parts: dict[str, Message] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = part
    return parts


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


async def recordings_upload(request: web.Request) -> web.Response:
    """``/observability/recordings/v0``: the chat history becomes the transcript; the audio is stored."""
    _authorise(request)
    service = request.app[SERVICE]
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported content type", "send multipart/form-data")
    body = await request.read()
    parts = _parts(body, request.headers.get("Content-Type", ""))
    if "header" not in parts:
        raise BadPayload("the upload has no header part")
    header = parse_header(_payload(parts["header"]))
    call_id, now = call_id_for(header), service.clock()
    events: list[dict[str, Any]] = []
    if "audio" in parts:
        store = request.app.get(RECORDINGS)
        if store is None:
            raise ApiError(422, "recordings are not enabled", "set PATTERDASH_RECORDINGS_DIR (needed with PostgreSQL)")
        audio = parts["audio"]
        try:
            data = store.save(call_id, _payload(audio), content_type=audio.get_content_type())
        except TooLarge as e:
            raise ApiError(413, "recording too large", str(e)) from e
        events.append(
            stored_event(call_id, {**data, "started_at": header.start_time or None, "source": "livekit"}, ts=now)
        )
    transcript = chat_transcript(parse_json(_payload(parts["chat_history"]))) if "chat_history" in parts else []
    events.insert(0, recording_call_end(header, transcript, now=now))
    # recording_stored is a server-only type (producers may not send it): it is built here, not validated
    await service.append(
        [e if e["type"] == "recording_stored" else validate_event(e, now=now, from_json=True) for e in events]
    )
    return web.Response(body=orjson.dumps({"ok": True, "call_id": call_id}), content_type="application/json")


async def recording(request: web.Request) -> web.StreamResponse:
    """``GET /api/dashboard/calls/{call_id}/recording``: the call's audio, with HTTP Range (206/416)."""
    service, call_id = request.app[SERVICE], request.match_info["call_id"]
    state = service.projection.get(call_id)
    record = state.record if state is not None else await service.call_from_log(call_id)
    if record is None:
        raise ApiError(404, "call not found", {"call_id": call_id})
    stored = record.get("recording") or {}
    store = request.app.get(RECORDINGS)
    path = store.path(stored.get("file")) if store is not None else None
    if path is None:
        raise ApiError(404, "no recording for this call", {"call_id": call_id})
    response = web.FileResponse(path, headers={"Content-Type": str(stored.get("content_type") or "audio/ogg")})
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
