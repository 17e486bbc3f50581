"""Realistic payloads: Patter SDK ingest bodies (start + end with 10 turns, 20-line transcript) and native events."""

from __future__ import annotations

import random
from typing import Any

import orjson

__all__ = ["call_end_payload", "call_start_payload", "native_call_events", "pair_templates"]

T0 = 1_700_000_000.0
_USER = [
    "Hi, I'd like to check the status of my order please.",
    "It's order number four five one two, placed last Tuesday.",
    "Can you tell me when it will arrive?",
    "Is there any way to expedite the shipping?",
    "What would that cost me?",
    "Okay, let's do that. Charge the card on file.",
    "And can you send me a confirmation by text?",
    "Great. Also, can I change the delivery address?",
    "It should go to my office on Market Street instead.",
    "Perfect, thank you so much for your help.",
]
_AGENT = [
    "Of course! I can help with that. Could you give me your order number?",
    "Thanks. I found order 4512, placed on Tuesday for two items.",
    "It's scheduled to arrive this Friday between 9 AM and 5 PM.",
    "Yes, we can upgrade you to overnight shipping for tomorrow delivery.",
    "Overnight shipping would be an extra twelve dollars and fifty cents.",
    "Done. Your card ending in 0042 was charged and the order is upgraded.",
    "I've sent a confirmation text to the number on your account.",
    "Sure, what address would you like to use instead?",
    "Updated. The package will now go to 500 Market Street, Suite 300.",
    "You're welcome! Is there anything else I can help you with today?",
]


def _latency(rng: random.Random) -> dict[str, float | None]:
    stt, ttft, tts = rng.uniform(80, 250), rng.uniform(200, 600), rng.uniform(90, 300)
    llm = ttft + rng.uniform(100, 400)
    return {
        "stt_ms": round(stt, 1),
        "llm_ms": round(llm, 1),
        "tts_ms": round(tts, 1),
        "total_ms": round(stt + llm + tts, 1),
        "user_speech_duration_ms": round(rng.uniform(800, 3000), 1),
        "llm_ttft_ms": round(ttft, 1),
        "llm_total_ms": round(llm, 1),
        "endpoint_ms": round(rng.uniform(100, 400), 1),
        "bargein_ms": None,
        "tts_total_ms": round(tts * 3, 1),
        "agent_response_ms": round(stt + ttft + tts, 1),
    }


def _turns(call_id: str, rng: random.Random, n: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "turn_index": i,
            "user_text": _USER[i % len(_USER)],
            "agent_text": _AGENT[i % len(_AGENT)],
            "latency": _latency(rng),
            "stt_audio_seconds": round(rng.uniform(1, 4), 2),
            "tts_characters": len(_AGENT[i % len(_AGENT)]),
            "timestamp": T0 + 6 * i,
        }
        for i in range(n)
    ]


def _metrics(call_id: str, turns: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    avg = {k: round(sum((t["latency"][k] or 0) for t in turns) / len(turns), 1) for k in turns[0]["latency"]}
    stt, tts, llm, tel = (round(rng.uniform(0.002, 0.03), 6) for _ in range(4))
    return {
        "call_id": call_id,
        "duration_seconds": round(rng.uniform(45, 180), 2),
        "turns": turns,
        "cost": {"stt": stt, "tts": tts, "llm": llm, "telephony": tel, "total": round(stt + tts + llm + tel, 6)},
        "latency_avg": avg,
        "latency_p50": avg,
        "latency_p90": avg,
        "latency_p95": avg,
        "latency_p99": avg,
        "provider_mode": "pipeline",
        "stt_provider": "deepgram",
        "tts_provider": "elevenlabs",
        "llm_provider": "openai",
        "telephony_provider": "twilio",
        "stt_model": "nova-3",
        "tts_model": "eleven_flash_v2_5",
        "llm_model": "gpt-4o-mini",
        "error_code": "",
        "preemptive_hits": 0,
        "preemptive_misses": 0,
        "context_tokens": 1800,
    }


def _transcript(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for t in turns:
        idx, ts = t["turn_index"], t["timestamp"]
        lines.append({"role": "user", "text": t["user_text"], "timestamp": ts, "turnIndex": idx})
        lines.append({"role": "assistant", "text": t["agent_text"], "timestamp": ts + 2, "turnIndex": idx})
    return lines


def call_start_payload(call_id: str, *, started_at: float = T0) -> dict[str, Any]:
    """The Patter SDK's call_start notify body."""
    return {
        "call_id": call_id,
        "caller": "+15550001111",
        "callee": "+15550002222",
        "direction": "inbound",
        "started_at": started_at,
    }


def call_end_payload(call_id: str, *, seed: int = 0, started_at: float = T0, turns: int = 10) -> dict[str, Any]:
    """The Patter SDK's call_end notify body: 10 turns of metrics and a 20-line transcript."""
    rng = random.Random(seed)
    ts = _turns(call_id, rng, turns)
    metrics = _metrics(call_id, ts, rng)
    return {
        **call_start_payload(call_id, started_at=started_at),
        "ended_at": started_at + metrics["duration_seconds"],
        "status": "completed",
        "transcript": _transcript(ts),
        "metrics": metrics,
    }


MARK = b"__CALLID__"


def pair_templates(turns: int = 10) -> tuple[bytes, bytes]:
    """Encoded start and end bodies with a placeholder call id (``MARK``), for cheap client-side generation."""
    cid = MARK.decode()
    return orjson.dumps(call_start_payload(cid)), orjson.dumps(call_end_payload(cid, turns=turns))


def native_call_events(call_id: str, *, seed: int = 0, ts: float = T0, turns: int = 10) -> list[dict[str, Any]]:
    """A whole call as native events: start, 20 transcript lines, 10 turn_complete, call_end (32 events)."""
    end = call_end_payload(call_id, seed=seed, started_at=ts, turns=turns)
    events: list[dict[str, Any]] = [
        {
            "id": f"{call_id}:s",
            "type": "call_start",
            "call_id": call_id,
            "ts": ts,
            "data": {"caller": end["caller"], "callee": end["callee"], "direction": "inbound"},
        }
    ]
    for i, line in enumerate(end["transcript"]):
        events.append(
            {
                "id": f"{call_id}:l{i}",
                "type": "transcript_line",
                "call_id": call_id,
                "ts": ts + 1 + i,
                "data": {"turnIndex": line["turnIndex"], "role": line["role"], "text": line["text"]},
            }
        )
    for t in end["metrics"]["turns"]:
        events.append(
            {
                "id": f"{call_id}:t{t['turn_index']}",
                "type": "turn_complete",
                "call_id": call_id,
                "ts": ts + 2 + 2 * t["turn_index"],
                "data": {"turn": t},
            }
        )
    data = {k: v for k, v in end.items() if k not in ("call_id",)}
    events.append({"id": f"{call_id}:e", "type": "call_end", "call_id": call_id, "ts": end["ended_at"], "data": data})
    return events
