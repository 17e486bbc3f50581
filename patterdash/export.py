"""CSV / JSON / NDJSON writers shared by the HTTP export and ``patterdash export``.

Writers are generators over call records, so exporting the whole log streams in
constant memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import orjson

from patterdash.core.aggregates import turns_of
from patterdash.core.projection import fold_call
from patterdash.core.query import CallFilter, parse_when
from patterdash.store import Store

__all__ = [
    "CALL_COLUMNS",
    "TURN_COLUMNS",
    "export_chunks",
    "log_records",
    "neutralise",
    "parse_when",
]

Format = Literal["csv", "json", "ndjson"]
Per = Literal["call", "turn"]

CALL_COLUMNS = (
    "call_id",
    "caller",
    "callee",
    "direction",
    "started_at",
    "ended_at",
    "duration_s",
    "cost_total",
    "cost_stt",
    "cost_tts",
    "cost_llm",
    "cost_telephony",
    "avg_latency_ms",
    "turns_count",
    "provider_mode",
    "status",
    "p95_latency_ms",
    "stt_provider",
    "tts_provider",
    "llm_provider",
    "telephony_provider",
    "error_code",
)
_LATENCY_FIELDS = (
    "stt_ms",
    "llm_ms",
    "tts_ms",
    "total_ms",
    "user_speech_duration_ms",
    "llm_ttft_ms",
    "llm_total_ms",
    "endpoint_ms",
    "bargein_ms",
    "tts_total_ms",
    "agent_response_ms",
)
TURN_COLUMNS = (
    "call_id",
    "turn_index",
    "timestamp",
    "user_text",
    "agent_text",
    *_LATENCY_FIELDS,
    "tts_characters",
    "stt_audio_seconds",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Defuse spreadsheet formula injection: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def log_records(
    log: Store,
    *,
    only: CallFilter | None = None,
    on_call: Callable[[], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every completed, not deleted call in the log, folded and filtered, oldest first, in constant memory.

    ``on_call`` is called once per call read, kept or not (a progress bar's tick).
    """
    for events in log.iter_completed_calls():
        if on_call is not None:
            on_call()
        record = fold_call(events)
        if record is not None and (only is None or only.keeps(record)):
            yield record


def _call_row(call: dict[str, Any]) -> list[Any]:
    metrics = call.get("metrics") or {}
    cost = metrics.get("cost") or {}
    avg = metrics.get("latency_avg") or {}
    p95 = metrics.get("latency_p95") or {}
    turns = turns_of(call)
    return [
        call.get("call_id", ""),
        call.get("caller", ""),
        call.get("callee", ""),
        call.get("direction", ""),
        call.get("started_at", ""),
        call.get("ended_at", ""),
        metrics.get("duration_seconds", ""),
        cost.get("total", ""),
        cost.get("stt", ""),
        cost.get("tts", ""),
        cost.get("llm", ""),
        cost.get("telephony", ""),
        avg.get("total_ms", ""),
        len(turns),
        metrics.get("provider_mode", ""),
        call.get("status", ""),
        p95.get("total_ms", ""),
        metrics.get("stt_provider", ""),
        metrics.get("tts_provider", ""),
        metrics.get("llm_provider", ""),
        metrics.get("telephony_provider", ""),
        metrics.get("error_code", ""),
    ]


def _turn_rows(call: dict[str, Any]) -> Iterator[list[Any]]:
    for turn in turns_of(call):
        latency = turn.get("latency") or {}
        yield [
            call.get("call_id", ""),
            turn.get("turn_index", ""),
            turn.get("timestamp", ""),
            turn.get("user_text", ""),
            turn.get("agent_text", ""),
            *(latency.get(f) if latency.get(f) is not None else "" for f in _LATENCY_FIELDS),
            turn.get("tts_characters", ""),
            turn.get("stt_audio_seconds", ""),
        ]


def _turn_objects(call: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in _turn_rows(call):
        yield dict(zip(TURN_COLUMNS, row, strict=True))


def _csv(records: Iterable[dict[str, Any]], per: Per) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(TURN_COLUMNS if per == "turn" else CALL_COLUMNS)
    for call in records:
        rows = _turn_rows(call) if per == "turn" else iter([_call_row(call)])
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _objects(records: Iterable[dict[str, Any]], per: Per) -> Iterator[dict[str, Any]]:
    for call in records:
        if per == "turn":
            yield from _turn_objects(call)
        else:
            yield call


def export_chunks(records: Iterable[dict[str, Any]], *, fmt: Format, per: Per = "call") -> Iterator[bytes]:
    """The export file as a stream of byte chunks."""
    if fmt == "csv":
        for text in _csv(records, per):
            if text:
                yield text.encode("utf-8")
        return
    if fmt == "ndjson":
        for obj in _objects(records, per):
            yield orjson.dumps(obj) + b"\n"
        return
    yield b"["
    first = True
    for obj in _objects(records, per):
        yield (b"" if first else b",") + orjson.dumps(obj)
        first = False
    yield b"]"
