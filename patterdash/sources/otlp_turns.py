"""Pure builders from spans to native event data: a turn from its parts, a call's totals, a timeline entry.

Shared by the OTLP receiver (Pipecat, Patter's own spans) and LiveKit Agents' upload.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

from patterdash.sources.otlp_decode import Span
from patterdash.sources.prices import PriceTable, TurnUsage

__all__ = [
    "call_metrics",
    "event_id",
    "merged_turns",
    "num",
    "span_detail",
    "text",
    "turn_from_parts",
]

_MAX_DETAIL_ATTRS = 64
_MAX_DETAIL_TEXT = 4_000
_LATENCY_KEYS = ("stt_ms", "llm_ms", "tts_ms", "total_ms", "llm_ttft_ms", "llm_total_ms", "tts_total_ms")
STT_NAMES = frozenset({"stt", "getpatter.stt", "user_turn", "stt_request"})
LLM_NAMES = frozenset({"llm", "llm_response", "getpatter.llm", "llm_node", "llm_request"})
TTS_NAMES = frozenset({"tts", "getpatter.tts", "tts_node", "tts_request"})


def event_id(prefix: str, *parts: str) -> str:
    """A deterministic event id (the idempotency key), hashed when it would pass the 200-character cap."""
    joined = ":".join((prefix, *parts))
    if len(joined) <= 200:
        return joined
    return f"{prefix}:sha256-{hashlib.sha256(joined.encode()).hexdigest()[:40]}"


def num(value: Any) -> float | None:
    """A finite number from an attribute value (numbers and numeric strings), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def text(value: Any) -> str:
    """An attribute as text ('' when absent)."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def span_detail(span: Span) -> dict[str, Any]:
    """A span as a ``call_event`` detail: ids, duration and (bounded) attributes."""
    attributes: dict[str, Any] = {}
    for key, value in list(span.attributes.items())[:_MAX_DETAIL_ATTRS]:
        attributes[key] = value[:_MAX_DETAIL_TEXT] if isinstance(value, str) else value
    detail: dict[str, Any] = {
        "span": span.name,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "duration_ms": round(span.duration_ms, 3),
        "attributes": attributes,
    }
    if span.error:
        detail["error"] = span.status_message or True
    return detail


def _ms(seconds: Any) -> float | None:
    value = num(seconds)
    return None if value is None else round(value * 1000, 3)


def _first(values: Iterable[float | None]) -> float | None:
    return next((v for v in values if v is not None), None)


def _provider(span: Span) -> tuple[str, str]:
    a = span.attributes
    provider = text(a.get("gen_ai.provider.name") or a.get("gen_ai.system") or a.get("lk.provider"))
    model = text(a.get("gen_ai.request.model") or a.get("gen_ai.response.model") or a.get("lk.model"))
    return provider, model


def _kind(span: Span) -> str:
    if span.name in STT_NAMES:
        return "stt"
    if span.name in LLM_NAMES:
        return "llm"
    if span.name in TTS_NAMES:
        return "tts"
    return ""


def _ttfb_ms(span: Span) -> float | None:
    a = span.attributes
    return _first(
        (
            _ms(a.get("metrics.ttfb")),
            num(a.get("patter.latency.ttfb_ms")),
            _ms(a.get("lk.response.ttft")),
            _ms(a.get("lk.response.ttfb")),
        )
    )


def _texts(parts: list[Span], *keys: str) -> str:
    out = []
    for span in parts:
        value = next((text(span.attributes[k]) for k in keys if span.attributes.get(k)), "")
        if value:
            out.append(value.strip())
    return " ".join(out)


def _sum(parts: list[Span], key: str) -> float:
    return sum(num(s.attributes.get(key)) or 0.0 for s in parts)


def turn_from_parts(
    index: int, parts: list[Span], *, head: Span | None, prices: PriceTable, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A TurnMetrics dict: latency breakdown in ms, texts, usage, providers and (when priced) cost."""
    by = {"stt": [], "llm": [], "tts": []}  # type: dict[str, list[Span]]
    for span in sorted(parts, key=lambda s: s.start_ns):
        if kind := _kind(span):
            by[kind].append(span)
    stt_ms, llm_ms, tts_ms = (_first(_ttfb_ms(s) for s in by[k]) for k in ("stt", "llm", "tts"))
    if stt_ms is None:  # LiveKit: the user turn says how long the final transcript took
        stt_ms = _first(_ms(s.attributes.get("lk.transcription_delay")) for s in by["stt"])
    latency: dict[str, Any] = {"stt_ms": stt_ms or 0.0, "llm_ms": llm_ms or 0.0, "tts_ms": tts_ms or 0.0}
    latency["endpoint_ms"] = _first(_ms(s.attributes.get("lk.end_of_turn_delay")) for s in by["stt"])
    latency["llm_ttft_ms"] = llm_ms
    # Pipecat's speech-to-speech llm_response span times the handling of the "response done" message, not generation
    generating = [s for s in by["llm"] if s.name != "llm_response"]
    latency["llm_total_ms"] = round(sum(s.duration_ms for s in generating), 3) if generating else None
    latency["tts_total_ms"] = round(sum(s.duration_ms for s in by["tts"]), 3) if by["tts"] else None
    head_attrs = head.attributes if head is not None else {}
    response_ms = _first((_ms(head_attrs.get("turn.user_bot_latency_seconds")), _ms(head_attrs.get("lk.e2e_latency"))))
    latency["agent_response_ms"] = response_ms
    latency["total_ms"] = (
        response_ms if response_ms is not None else round(sum(latency[k] for k in _LATENCY_KEYS[:3]), 3)
    )
    # LiveKit reports usage on each llm_request and may repeat it on their llm_node: count one level
    metered = [s for s in by["llm"] if s.name == "llm_request"] or by["llm"]
    tokens_in = int(_sum(metered, "gen_ai.usage.input_tokens"))
    tokens_out = int(_sum(metered, "gen_ai.usage.output_tokens"))
    cached = int(_sum(metered, "gen_ai.usage.cache_read.input_tokens"))
    characters = int(_sum(by["tts"], "metrics.character_count"))
    agent_text = (
        text(head_attrs.get("lk.pii.response.text"))
        or _texts([s for s in by["llm"] if s.name != "llm_request"], "output", "text_output", "lk.pii.response.text")
        or _texts(by["tts"], "text", "lk.pii.input_text")
    )
    usage = TurnUsage(
        stt=_provider(by["stt"][0]) if by["stt"] else ("", ""),
        llm=_provider(by["llm"][0]) if by["llm"] else ("", ""),
        tts=_provider(by["tts"][0]) if by["tts"] else ("", ""),
        stt_seconds=_sum(by["stt"], "metrics.audio_seconds"),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=cached,
        tts_characters=(characters or len(agent_text)) if by["tts"] else 0,
    )
    turn: dict[str, Any] = {
        "turn_index": index,
        "user_text": _texts(by["stt"], "transcript", "lk.pii.user_transcript"),
        "agent_text": agent_text,
        "latency": latency,
        "stt_audio_seconds": usage.stt_seconds,
        "tts_characters": usage.tts_characters,
        "timestamp": (head or max(parts, key=lambda s: s.end_ns)).end if (head or parts) else 0.0,
        "llm_input_tokens": tokens_in,
        "llm_output_tokens": tokens_out,
    }
    for kind in ("stt", "llm", "tts"):
        provider, model = getattr(usage, kind)
        if provider:
            turn[f"{kind}_provider"], turn[f"{kind}_model"] = provider, model
    if head_attrs.get("turn.was_interrupted") is True or head_attrs.get("lk.interrupted") is True:
        turn["interrupted"] = True
    if (cost := prices.cost(usage)) is not None:
        turn["cost"] = cost
    turn.update(extra or {})
    return turn


def merged_turns(known: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The call's turns by index: the ones already folded plus this batch's (which win on a re-send)."""
    by_index = {t.get("turn_index"): t for t in known}
    by_index.update({t.get("turn_index"): t for t in new})
    return sorted(by_index.values(), key=lambda t: (t.get("turn_index") is None, t.get("turn_index") or 0))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[rank]


def _latency_stat(turns: list[dict[str, Any]], pick: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in (*_LATENCY_KEYS, "agent_response_ms"):
        values = [v for t in turns if (v := num((t.get("latency") or {}).get(key))) is not None]
        if key in ("stt_ms", "llm_ms", "tts_ms", "total_ms") or values:
            out[key] = round(pick(values), 3) if values else 0.0
    return out


def call_metrics(call_id: str, turns: list[dict[str, Any]], *, duration: float) -> dict[str, Any]:
    """CallMetrics for a call_end: the turns, latency average and percentiles, usage totals, cost when priced."""
    metrics: dict[str, Any] = {
        "call_id": call_id,
        "duration_seconds": round(duration, 3),
        "turns": turns,
        "latency_avg": _latency_stat(turns, lambda v: sum(v) / len(v)),
        "llm_input_tokens": sum(int(t.get("llm_input_tokens") or 0) for t in turns),
        "llm_output_tokens": sum(int(t.get("llm_output_tokens") or 0) for t in turns),
        "tts_characters": sum(int(t.get("tts_characters") or 0) for t in turns),
        "stt_audio_seconds": round(sum(num(t.get("stt_audio_seconds")) or 0.0 for t in turns), 3),
    }
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)):
        metrics[f"latency_{name}"] = _latency_stat(turns, lambda v, q=q: _percentile(v, q))
    for kind in ("stt", "llm", "tts"):
        found = next((t for t in turns if t.get(f"{kind}_provider")), None)
        if found is not None:
            metrics[f"{kind}_provider"], metrics[f"{kind}_model"] = found[f"{kind}_provider"], found[f"{kind}_model"]
    if metrics.get("stt_provider") and metrics.get("tts_provider"):
        metrics["provider_mode"] = "pipeline"  # separate STT, LLM and TTS services (the UI's "voice mode")
    costs = [t["cost"] for t in turns if isinstance(t.get("cost"), dict)]
    if costs:
        cost = {k: round(sum(num(c.get(k)) or 0.0 for c in costs), 9) for k in ("stt", "llm", "tts", "total")}
        metrics["cost"] = {**cost, "telephony": 0.0}
    return metrics
