"""CSV / JSON / NDJSON / events writers shared by the HTTP export and ``patterdash export``.

CSV is for spreadsheets: times as ISO 8601 UTC, formula-looking text defused. JSON and NDJSON keep
Patter's record shape and numbers (epoch seconds).

Writers are generators over call records, so exporting the whole log streams in
constant memory.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from patterdash.core.aggregates import turns_of
from patterdash.core.projection import fold_call
from patterdash.core.query import CallFilter, parse_when
from patterdash.store import Store

__all__ = [
    "CALL_COLUMNS",
    "TURN_COLUMNS",
    "event_chunks",
    "export_chunks",
    "iso_utc",
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
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED = ("+", "-")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """Defuse spreadsheet formula injection without corrupting data.

    Text a spreadsheet would run (``=``, ``@``, tab, CR, or ``+``/``-`` not starting a plain number)
    gets a leading apostrophe; phone numbers and numbers (``+14155550100``, ``-3.5``) stay as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_START) or (value.startswith(_SIGNED) and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def iso_utc(value: Any) -> Any:
    """Epoch seconds -> ISO 8601 UTC with milliseconds (``2026-12-01T13:05:24.123Z``); others unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return value
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return value
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        iso_utc(call.get("started_at", "")),
        iso_utc(call.get("ended_at", "")),
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


def _turn_rows(call: dict[str, Any], *, json: bool) -> Iterator[list[Any]]:
    for turn in turns_of(call):
        latency = turn.get("latency") or {}
        yield [
            call.get("call_id", ""),
            turn.get("turn_index", ""),
            turn.get("timestamp", "") if json else iso_utc(turn.get("timestamp", "")),
            turn.get("user_text", ""),
            turn.get("agent_text", ""),
            *(latency.get(f) if latency.get(f) is not None else "" for f in _LATENCY_FIELDS),
            turn.get("tts_characters", ""),
            turn.get("stt_audio_seconds", ""),
        ]


def _turn_objects(call: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in _turn_rows(call, json=True):
        yield dict(zip(TURN_COLUMNS, row, strict=True))


def _csv(records: Iterable[dict[str, Any]], per: Per) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(TURN_COLUMNS if per == "turn" else CALL_COLUMNS)
    for call in records:
        rows = _turn_rows(call, json=False) if per == "turn" else iter([_call_row(call)])
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


def event_chunks(log: Store, *, batch: int = 1000) -> Iterator[bytes]:
    """Every event of the log in seq order as NDJSON envelopes (ids and times intact): ``import -`` takes it back."""
    seq = 0
    while events := log.read_after(seq, limit=batch):
        yield b"".join(orjson.dumps(ev.envelope()) + b"\n" for ev in events)
        seq = events[-1].seq
