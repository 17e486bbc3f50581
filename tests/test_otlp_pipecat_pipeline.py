"""A real Pipecat pipeline (canned local STT/LLM/TTS, Pipecat's tracing, the real OTLP HTTP exporter) -> a call.

The agent runs in its own process, as a deployed one would: OpenTelemetry's tracer provider is
process-global and set once, so the pipeline cannot share the test's process with other tracing
tests. Run as a script (``python tests/test_otlp_pipecat_pipeline.py ENDPOINT CALL_ID TURNS``) it
is that agent: frames in, spans out to ENDPOINT, exit when the exporter has flushed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
import warnings
from collections.abc import AsyncGenerator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

pytest.importorskip("pipecat", reason="pip install 'patterdash[otel]'")

# pipecat's tts_service subclasses its own deprecated AudioContextTTSService at import; not ours to fix
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from pipecat.frames.frames import (
        BotStartedSpeakingFrame,
        BotStoppedSpeakingFrame,
        EndFrame,
        Frame,
        InputAudioRawFrame,
        LLMContextFrame,
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMTextFrame,
        StartFrame,
        TranscriptionFrame,
        TTSAudioRawFrame,
        TTSStartedFrame,
        TTSStoppedFrame,
        UserStartedSpeakingFrame,
        UserStoppedSpeakingFrame,
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.metrics.metrics import LLMTokenUsage
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
    from pipecat.services.llm_service import LLMService
    from pipecat.services.settings import LLMSettings, ServiceSettings, STTSettings, TTSSettings
    from pipecat.services.stt_service import STTService
    from pipecat.services.tts_service import TTSService
    from pipecat.utils.tracing.service_decorators import traced_gemini_live, traced_llm, traced_stt, traced_tts
    from pipecat.utils.tracing.setup import setup_tracing
    from pipecat.workers.runner import WorkerRunner

QUESTION = "where is order {n}"
ANSWER = "Order {n} ships today."
Client = TestClient[Any, Any]
WORK_S = 0.03  # each canned service "works" this long, so every latency is measurably > 0


def _settings(kind: type[ServiceSettings], **given: Any) -> Any:
    """A service's settings with every field given (Pipecat logs an error for any left NOT_GIVEN)."""
    unset = {f.name: None for f in dataclasses.fields(kind) if f.name not in ("extra", *given)}
    return kind(**unset, **given)


class CannedSTT(STTService):
    """Transcribes any audio as the next canned question."""

    def __init__(self) -> None:
        super().__init__(settings=_settings(STTSettings, model="canned-stt"))
        self.heard = 0

    def can_generate_metrics(self) -> bool:
        return True

    @traced_stt
    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        yield None  # a streaming service: audio goes out, the transcript comes back when the VAD says stop

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):  # the base started its TTFB clock: finalize
            self.heard += 1
            await asyncio.sleep(WORK_S)
            await self.push_frame(TranscriptionFrame(QUESTION.format(n=self.heard), "caller", str(time.time()),
                                                     finalized=True))  # fmt: skip


class ContextOfTranscripts(FrameProcessor):
    """The user aggregator's job, minus VAD and turn strategies: each final transcript asks the LLM."""

    def __init__(self) -> None:
        super().__init__()
        self.context = LLMContext()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            self.context.add_message({"role": "user", "content": frame.text})
            await self.push_frame(LLMContextFrame(self.context))
        else:
            await self.push_frame(frame, direction)


class CannedLLM(LLMService):
    """Answers every context with the next canned answer and a fixed token usage."""

    def __init__(self) -> None:
        super().__init__(settings=_settings(LLMSettings, model="canned-llm"))
        self.answered = 0

    def can_generate_metrics(self) -> bool:
        return True

    @traced_llm
    async def _process_context(self, context: LLMContext) -> None:
        self.answered += 1
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_ttfb_metrics()
        await asyncio.sleep(WORK_S)
        await self.stop_ttfb_metrics()
        await self.push_frame(LLMTextFrame(ANSWER.format(n=self.answered)))
        await self.start_llm_usage_metrics(LLMTokenUsage(prompt_tokens=420, completion_tokens=12, total_tokens=432))
        await self.push_frame(LLMFullResponseEndFrame())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self._process_context(frame.context)
        else:
            await self.push_frame(frame, direction)


class CannedTTS(TTSService):
    """Speaks any text as a little silence."""

    def __init__(self) -> None:
        super().__init__(sample_rate=16_000, push_start_frame=True, push_stop_frames=True, stop_frame_timeout_s=0.2,
                         settings=_settings(TTSSettings, model="canned-tts", voice="v1"))  # fmt: skip

    def can_generate_metrics(self) -> bool:
        return True

    @traced_tts
    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        await self.start_tts_usage_metrics(text)
        await asyncio.sleep(WORK_S)
        await self.stop_ttfb_metrics()  # as Pipecat's Piper service does on its first chunk
        yield TTSAudioRawFrame(b"\x00" * 640, 16_000, 1, context_id=context_id)


class CannedLive(LLMService):
    """A speech-to-speech service (Gemini Live's traced operations) answering from canned server events."""

    def __init__(self) -> None:
        super().__init__(settings=_settings(LLMSettings, model="canned-live"))
        self.answered = 0
        self._llm_output_buffer = ""

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self._session_ready()

    @traced_gemini_live(operation="llm_setup")
    async def _session_ready(self) -> None:
        """The session's setup message (Gemini Live traces it when it connects)."""

    @traced_gemini_live(operation="llm_tool_call")
    async def _tool_call(self, message: Any) -> None:
        """The server asks for a function call."""

    @traced_gemini_live(operation="llm_tool_result")
    async def _tool_result(self, call_id: str, name: str, result: dict[str, Any]) -> None:
        """The function's result goes back to the server."""

    @traced_gemini_live(operation="llm_response")
    async def _response(self, message: Any) -> None:
        """The server's turn is complete."""
        self._llm_output_buffer = ""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            await self._answer()

    async def _answer(self) -> None:
        """One server turn: a tool call and its result, then spoken audio, then turn complete."""
        self.answered += 1
        n, call_id = self.answered, f"call-{self.answered}"
        call = SimpleNamespace(name="lookup_order", id=call_id, args={"order": n})
        await self._tool_call(SimpleNamespace(tool_call=SimpleNamespace(function_calls=[call])))
        await self._tool_result(call_id, "lookup_order", {"success": True, "eta": "today"})
        self._llm_output_buffer = ANSWER.format(n=n)
        await self.push_frame(TTSStartedFrame())
        await self.push_frame(TTSAudioRawFrame(b"\x00" * 640, 16_000, 1))
        await self.push_frame(TTSStoppedFrame())
        await self._response(SimpleNamespace(usage_metadata=None, server_content=SimpleNamespace(turn_complete=True)))


class Speaker(FrameProcessor):
    """The output transport's part the turn tracker needs: the bot starts and stops speaking."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TTSStartedFrame):
            await self.push_frame(BotStartedSpeakingFrame())
            await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
        elif isinstance(frame, TTSStoppedFrame):
            await self.push_frame(BotStoppedSpeakingFrame())
            await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)


def utterance() -> list[Frame]:
    """What the input transport and its VAD push while the caller says one thing (VAD stop after 0.2 s of silence)."""
    return [VADUserStartedSpeakingFrame(start_secs=0.2), UserStartedSpeakingFrame(),
            InputAudioRawFrame(b"\x01\x00" * 160, 16_000, 1), VADUserStoppedSpeakingFrame(stop_secs=0.2),
            UserStoppedSpeakingFrame()]  # fmt: skip


async def run_agent(endpoint: str, call_id: str, turns: int, kind: str) -> None:
    """One call: ``turns`` user utterances through the pipeline, then the end; spans exported to ``endpoint``."""
    assert setup_tracing("pipecat-pipeline-test", exporter=OTLPSpanExporter(endpoint=endpoint))
    processors: list[FrameProcessor] = (
        [CannedLive()] if kind == "s2s" else [CannedSTT(), ContextOfTranscripts(), CannedLLM(), CannedTTS()]
    )
    pipeline = Pipeline([*processors, Speaker()])
    worker = PipelineWorker(pipeline, params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
                            enable_tracing=True, conversation_id=call_id, cancel_on_idle_timeout=False)  # fmt: skip
    spoke = asyncio.Event()

    @worker.event_handler("on_frame_reached_downstream")
    async def _reached(worker: Any, frame: Frame) -> None:
        if isinstance(frame, BotStoppedSpeakingFrame):
            spoke.set()

    worker.set_reached_downstream_filter((BotStoppedSpeakingFrame,))
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(worker: Any, frame: Frame) -> None:
        started.set()

    async def talk() -> None:
        await asyncio.wait_for(started.wait(), 10)
        for _ in range(turns):
            spoke.clear()
            await worker.queue_frames(utterance())
            await asyncio.wait_for(spoke.wait(), 10)
        await worker.queue_frame(EndFrame())

    await asyncio.gather(_run(worker), talk())
    provider: Any = trace.get_tracer_provider()
    assert provider.force_flush(10_000)
    provider.shutdown()


async def _run(worker: PipelineWorker) -> None:
    runner = WorkerRunner()
    await runner.add_workers(worker)
    await runner.run()


async def _agent(endpoint: str, call_id: str, turns: int, kind: str = "pipeline") -> tuple[int, str]:
    """Run the agent process (``kind``: the STT/LLM/TTS pipeline or ``s2s``) to its end (bounded); exit code, output."""
    args = (str(Path(__file__)), endpoint, call_id, str(turns), kind)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")


async def _call(client: Client, call_id: str, *, deadline_s: float = 10) -> dict[str, Any]:
    """The call once it has ended (the conversation span is exported last), polled with a deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = await client.get(f"/api/dashboard/calls/{call_id}")
        if response.status == 200 and (call := await response.json())["status"] != "in-progress":
            return dict(call)
        assert time.monotonic() < deadline, f"call {call_id} never ended: {response.status}"
        await asyncio.sleep(0.05)


async def test_a_running_pipecat_pipeline_exports_its_call_turns_latencies_and_transcript(client: Client) -> None:
    started = time.monotonic()
    code, out = await _agent(str(client.make_url("/v1/traces")), "pc-pipeline-1", 3)
    assert code == 0, out[-4000:]
    call = await _call(client, "pc-pipeline-1")
    assert time.monotonic() - started < 30
    assert call["status"] == "completed"
    assert [t["turn_index"] for t in call["turns"]] == [1, 2, 3]
    # Pipecat's turn tracker ends the turn still open at the pipeline's end as interrupted
    assert [t.get("interrupted", False) for t in call["turns"]] == [False, False, True]
    for turn in call["turns"]:
        latency = turn["latency"]
        # measured by Pipecat: STT from the VAD's speech end (0.2 s of silence before it) to the final
        # transcript, LLM and TTS time to first byte, user-bot latency from speech end to the bot speaking
        assert 200 + WORK_S * 1000 <= latency["stt_ms"] < 5_000, latency
        assert WORK_S * 1000 <= latency["llm_ttft_ms"] == latency["llm_ms"] < 5_000, latency
        assert WORK_S * 1000 <= latency["tts_ms"] < 5_000, latency
        assert latency["stt_ms"] + latency["llm_ms"] <= latency["total_ms"] == latency["agent_response_ms"] < 5_000
        assert latency["llm_total_ms"] >= latency["llm_ttft_ms"] and latency["tts_total_ms"] >= latency["tts_ms"]
    assert [(e["role"], e["text"], e["turnIndex"]) for e in call["transcript"]] == [
        (role, text.format(n=n), n) for n in (1, 2, 3) for role, text in (("user", QUESTION), ("assistant", ANSWER))
    ]
    metrics = call["metrics"]
    assert (metrics["stt_provider"], metrics["llm_provider"], metrics["tts_provider"]) == (
        "cannedstt", "cannedllm", "cannedtts")  # fmt: skip
    assert (metrics["stt_model"], metrics["llm_model"], metrics["tts_model"]) == (
        "canned-stt",
        "canned-llm",
        "canned-tts",
    )
    assert (metrics["llm_input_tokens"], metrics["llm_output_tokens"]) == (3 * 420, 3 * 12)
    assert metrics["tts_characters"] == sum(len(ANSWER.format(n=n)) for n in (1, 2, 3))
    assert metrics["latency_avg"]["total_ms"] > 0 and 0 < metrics["duration_seconds"] < 30


async def test_speech_to_speech_spans_of_a_running_pipeline_make_turns_and_tool_calls_on_the_timeline(
    client: Client,
) -> None:
    code, out = await _agent(str(client.make_url("/v1/traces")), "pc-s2s-1", 2, "s2s")
    assert code == 0, out[-4000:]
    call = await _call(client, "pc-s2s-1")
    assert call["status"] == "completed"
    assert [(t["turn_index"], t["agent_text"]) for t in call["turns"]] == [(n, ANSWER.format(n=n)) for n in (1, 2)]
    assert (call["metrics"]["llm_provider"], call["metrics"]["llm_model"]) == ("gcp.gemini", "canned-live")
    for turn in call["turns"]:  # user-bot latency from the VAD's speech end (0.2 s before its stop) to the bot speaking
        assert 200 <= turn["latency"]["total_ms"] == turn["latency"]["agent_response_ms"] < 5_000
        # llm_response times the handling of the server's "turn complete" message, not the generation
        assert turn["latency"]["llm_total_ms"] is None
    # Pipecat traces no input transcription for speech-to-speech services: the transcript is the bot's side
    assert [(e["role"], e["text"]) for e in call["transcript"]] == [("assistant", ANSWER.format(n=n)) for n in (1, 2)]
    timeline = [(e["kind"], e["name"], e["detail"]["attributes"].get("tool.call_id")) for e in call["events"]]
    assert timeline == [("span", "llm_setup", None)] + [
        (kind, "lookup_order", f"call-{n}") for n in (1, 2) for kind in ("tool_call", "tool_result")
    ]
    tool_call = call["events"][1]["detail"]["attributes"]
    assert (tool_call["tool.arguments"], call["events"][2]["detail"]["attributes"]["tool.result"]) == (
        '{"order": 1}', '{"success": true, "eta": "today"}')  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run_agent(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
