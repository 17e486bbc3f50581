"""Builders for realistic events and Patter payloads used across tests."""

from __future__ import annotations

from typing import Any


def latency(total: float = 700.0, **extra: Any) -> dict[str, Any]:
    """A LatencyBreakdown dict."""
    return {"stt_ms": 120.0, "llm_ms": 300.0, "tts_ms": 180.0, "total_ms": total, **extra}


def turn(index: int, *, user: str = "hello", agent: str = "hi", total: float = 700.0) -> dict[str, Any]:
    """A TurnMetrics dict."""
    return {
        "turn_index": index,
        "user_text": user,
        "agent_text": agent,
        "latency": latency(total),
        "stt_audio_seconds": 1.5,
        "tts_characters": len(agent),
        "timestamp": 1_700_000_000.0 + index,
    }


def metrics(call_id: str, *, duration: float = 30.0, cost: float = 0.05, turns: int = 2) -> dict[str, Any]:
    """A CallMetrics dict."""
    return {
        "call_id": call_id,
        "duration_seconds": duration,
        "turns": [turn(i, total=600.0 + 100 * i) for i in range(turns)],
        "cost": {"stt": cost / 4, "tts": cost / 4, "llm": cost / 4, "telephony": cost / 4, "total": cost},
        "latency_avg": latency(650.0),
        "latency_p95": latency(900.0),
        "provider_mode": "pipeline",
        "stt_provider": "deepgram",
        "tts_provider": "elevenlabs",
        "llm_provider": "openai",
        "telephony_provider": "twilio",
    }


def event(type_: str, call_id: str, data: dict[str, Any] | None = None, **envelope: Any) -> dict[str, Any]:
    """A native event for POST /api/events."""
    return {"type": type_, "call_id": call_id, "data": data or {}, **envelope}


def full_call(call_id: str, *, ts: float = 1_700_000_000.0) -> list[dict[str, Any]]:
    """A whole call as native events: start, two lines, a turn, a tool call, end."""
    return [
        event("call_start", call_id, {"caller": "+15550001111", "callee": "+15550002222"}, ts=ts),
        event("transcript_line", call_id, {"turnIndex": 0, "role": "user", "text": "hello"}, ts=ts + 1),
        event("transcript_line", call_id, {"turnIndex": 0, "role": "assistant", "text": "hi"}, ts=ts + 2),
        event("turn_complete", call_id, {"turn": turn(0)}, ts=ts + 3),
        event("call_event", call_id, {"kind": "tool_call", "name": "lookup", "detail": {"q": 1}}, ts=ts + 4),
        event("call_end", call_id, {"metrics": metrics(call_id, turns=1)}, ts=ts + 30),
    ]
