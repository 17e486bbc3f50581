"""LiveKit Agents' observability upload, driven by the real livekit-agents telemetry code and livekit-api tokens."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

pytest.importorskip("livekit.agents", reason="pip install 'patterdash[otel]'")

from livekit import api
from livekit.agents.llm import ChatContext
from livekit.agents.observability import Tagger
from livekit.agents.telemetry import trace_types as tt
from livekit.agents.telemetry import traces as lk_traces
from livekit.agents.voice.report import SessionReport
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from patterdash.web.keys import SERVICE
from tests.conftest import StartClient
from tests.otlp_helpers import T0, ns

Client = TestClient[Any, Any]
KEY, SECRET = "APIpatterdash", "a-livekit-api-secret-of-32-chars!"
JOB = "AJ_job123"


@pytest.fixture
def livekit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent side's credentials, as a LiveKit agent has them."""
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)


async def _server(start_client: StartClient, tmp_path: Path, **kw: Any) -> Client:
    return await start_client(livekit_api_key=KEY, livekit_api_secret=SECRET, recordings_dir=tmp_path / "rec", **kw)


def _export_session(url: str) -> None:
    """A LiveKit session's spans, exported by the OTLP exporter LiveKit builds (its auth-refreshing session)."""
    session = lk_traces._AuthRefreshingSession(lk_traces._AuthHeaderProvider())
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/observability/traces/otlp/v0", compression=Compression.Gzip, session=session
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "livekit-agents"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("livekit-agents")
    stamp = {"job_id": JOB, "room_id": "RM_room1"}
    root = tracer.start_span("agent_session", start_time=ns(T0), attributes=stamp)
    ctx = trace.set_span_in_context(root)
    user = tracer.start_span("user_turn", context=ctx, start_time=ns(T0 + 1), attributes={
        **stamp, tt.ATTR_USER_TRANSCRIPT: "I need to move my booking", tt.ATTR_TRANSCRIPTION_DELAY: 0.18,
        tt.ATTR_END_OF_TURN_DELAY: 0.4})  # fmt: skip
    user.end(end_time=ns(T0 + 3))
    turn = tracer.start_span("agent_turn", context=ctx, start_time=ns(T0 + 3), attributes=stamp)
    turn_ctx = trace.set_span_in_context(turn)
    llm = tracer.start_span("llm_node", context=turn_ctx, start_time=ns(T0 + 3), attributes={
        **stamp, tt.ATTR_RESPONSE_TTFT: 0.31, tt.ATTR_RESPONSE_TEXT: "Sure, which day works?",
        tt.ATTR_GEN_AI_PROVIDER_NAME: "openai", tt.ATTR_GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        tt.ATTR_GEN_AI_USAGE_INPUT_TOKENS: 300, tt.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS: 9})  # fmt: skip
    llm.end(end_time=ns(T0 + 3.8))
    tool = tracer.start_span("function_tool", context=turn_ctx, start_time=ns(T0 + 3.8), attributes={
        **stamp, tt.ATTR_FUNCTION_TOOL_NAME: "find_booking", tt.ATTR_FUNCTION_TOOL_IS_ERROR: False})  # fmt: skip
    tool.end(end_time=ns(T0 + 4))
    tts = tracer.start_span("tts_node", context=turn_ctx, start_time=ns(T0 + 4), attributes={
        **stamp, tt.ATTR_RESPONSE_TTFB: 0.22, tt.ATTR_TTS_INPUT_TEXT: "Sure, which day works?"})  # fmt: skip
    tts.end(end_time=ns(T0 + 5))
    turn.set_attributes({tt.ATTR_E2E_LATENCY: 0.95, tt.ATTR_SPEECH_INTERRUPTED: False,
                         tt.ATTR_RESPONSE_TEXT: "Sure, which day works?"})  # fmt: skip
    turn.end(end_time=ns(T0 + 6))
    root.end(end_time=ns(T0 + 30))
    provider.shutdown()


async def test_livekit_spans_become_a_call_with_turns_latency_and_tools(
    start_client: StartClient, tmp_path: Path, livekit_env: None
) -> None:
    client = await _server(start_client, tmp_path)
    await asyncio.to_thread(_export_session, str(client.make_url("")).rstrip("/"))
    call = await (await client.get(f"/api/dashboard/calls/{JOB}")).json()
    assert call["status"] == "completed"
    (turn,) = call["turns"]
    assert turn["user_text"] == "I need to move my booking"
    assert turn["agent_text"] == "Sure, which day works?"
    latency = turn["latency"]
    assert (latency["stt_ms"], latency["llm_ms"], latency["tts_ms"]) == (180.0, 310.0, 220.0)
    assert (latency["total_ms"], latency["endpoint_ms"]) == (950.0, 400.0)
    assert [(e["kind"], e["name"]) for e in call["events"]] == [("tool_call", "find_booking")]
    assert call["metrics"]["llm_input_tokens"] == 300 and call["metrics"]["duration_seconds"] == 30.0


def _report(tmp_path: Path, audio: bytes | None) -> SessionReport:
    chat = ChatContext()
    chat.add_message(role="system", content="You book appointments.")
    chat.add_message(role="user", content="I need to move my booking")
    chat.add_message(role="assistant", content="Sure, which day works?")
    path = None
    if audio is not None:
        path = tmp_path / "recording.ogg"
        path.write_bytes(audio)
    options = SimpleNamespace(  # the fields SessionReport.to_dict reads from AgentSessionOptions
        recording_options={"audio": audio is not None, "transcript": True, "logs": False},
        interruption={"enabled": True, "discard_audio_if_uninterruptible": True, "min_duration": 0.5, "min_words": 0},
        endpointing={"min_delay": 0.5, "max_delay": 6.0},
        max_tool_steps=3,
        user_away_timeout=15.0,
        min_consecutive_speech_delay=0.0,
        preemptive_generation={},
    )
    return SessionReport(
        job_id=JOB, room_id="RM_room1", room="support-42", options=options,  # type: ignore[arg-type]
        events=[], chat_history=chat, audio_recording_path=path, audio_recording_started_at=T0, duration=30.0,
    )  # fmt: skip


async def _upload(client: Client, report: SessionReport) -> None:
    async with aiohttp.ClientSession() as http:
        await lk_traces._upload_session_report(
            agent_name="support",
            observability_url=str(client.make_url("")).rstrip("/"),
            report=report,
            tagger=Tagger(),
            http_session=http,
        )


async def test_session_upload_stores_transcript_and_recording_served_with_range(
    start_client: StartClient, tmp_path: Path, livekit_env: None
) -> None:
    client = await _server(start_client, tmp_path)
    audio = b"OggS" + bytes(range(256)) * 40
    await _upload(client, _report(tmp_path, audio))
    call = await (await client.get(f"/api/dashboard/calls/{JOB}")).json()
    assert [(line["role"], line["text"]) for line in call["transcript"]] == [
        ("user", "I need to move my booking"),
        ("assistant", "Sure, which day works?"),
    ]
    assert call["recording"]["bytes"] == len(audio) and call["recording"]["started_at"] == T0
    whole = await client.get(call["recording"]["url"])
    assert whole.status == 200 and await whole.read() == audio
    part = await client.get(call["recording"]["url"], headers={"Range": "bytes=4-19"})
    assert part.status == 206 and await part.read() == audio[4:20]
    assert part.headers["Content-Range"] == f"bytes 4-19/{len(audio)}"
    beyond = await client.get(call["recording"]["url"], headers={"Range": f"bytes={len(audio) + 10}-"})
    assert beyond.status == 416
    seq = (await (await client.get("/healthz")).json())["seq"]
    await _upload(client, _report(tmp_path, audio))  # LiveKit retries: nothing twice
    assert (await (await client.get("/healthz")).json())["seq"] == seq
    assert len(list((tmp_path / "rec").iterdir())) == 1


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        api.AccessToken(KEY, "another-secret-another-secret-123")
        .with_observability_grants(api.ObservabilityGrants(write=True))
        .to_jwt(),
        api.AccessToken(KEY, SECRET).with_grants(api.VideoGrants(room_list=True)).to_jwt(),
    ],
    ids=["none", "malformed", "wrong-secret", "no-observability-grant"],
)
async def test_a_wrong_token_is_refused_and_nothing_stored(
    start_client: StartClient, tmp_path: Path, token: str | None
) -> None:
    client = await _server(start_client, tmp_path)
    headers = {"Content-Type": "application/x-protobuf", **({"Authorization": f"Bearer {token}"} if token else {})}
    resp = await client.post("/observability/traces/otlp/v0", data=b"", headers=headers)
    assert resp.status == 401 and set(await resp.json()) == {"error", "detail"}
    assert (await (await client.get("/healthz")).json())["seq"] == 0


async def test_an_expired_token_is_refused(start_client: StartClient, tmp_path: Path) -> None:
    client = await _server(start_client, tmp_path)
    token = api.AccessToken(KEY, SECRET).with_observability_grants(api.ObservabilityGrants(write=True))
    jwt = token.with_ttl(timedelta(minutes=5)).to_jwt()
    client.app[SERVICE].clock = lambda: time.time() + 3600  # the server's one clock, an hour on
    resp = await client.post("/observability/traces/otlp/v0", data=b"", headers={
        "Content-Type": "application/x-protobuf", "Authorization": f"Bearer {jwt}"})  # fmt: skip
    assert resp.status == 401 and "expired" in (await resp.json())["detail"]


async def test_uploads_are_refused_when_livekit_is_not_configured(client: Client) -> None:
    jwt = api.AccessToken(KEY, SECRET).with_observability_grants(api.ObservabilityGrants(write=True)).to_jwt()
    resp = await client.post("/observability/traces/otlp/v0", data=b"", headers={
        "Content-Type": "application/x-protobuf", "Authorization": f"Bearer {jwt}"})  # fmt: skip
    assert resp.status == 401 and "not enabled" in (await resp.json())["error"]
