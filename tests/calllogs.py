"""Builders for Patter call-log trees in the exact format of getpatter's CallLogger."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.factories import latency

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def iso(ts: float) -> str:
    """CallLogger's UTC ISO-8601 with milliseconds."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def call_dir(root: Path, call_id: str, started: float = T0) -> Path:
    """<root>/calls/YYYY/MM/DD/<call_id>."""
    dt = datetime.fromtimestamp(started, tz=UTC)
    return root / "calls" / f"{dt.year:04d}" / f"{dt.month:02d}" / f"{dt.day:02d}" / call_id


def start_metadata(call_id: str, started: float = T0, **extra: Any) -> dict[str, Any]:
    """metadata.json as written at call start."""
    return {
        "schema_version": "1.0",
        "call_id": call_id,
        "trace_id": None,
        "started_at": iso(started),
        "ended_at": None,
        "duration_ms": None,
        "status": "in_progress",
        "caller": "+15550001111",
        "callee": "+15550002222",
        "direction": "inbound",
        "telephony_provider": "twilio",
        "provider_mode": "pipeline",
        "agent": {"provider": "pipeline", "model": "gpt-4o-mini"},
        "turns": 0,
        "cost": None,
        "latency": None,
        "error": None,
        **extra,
    }


def end_metadata(meta: dict[str, Any], *, ended: float, turns: int, status: str = "completed") -> dict[str, Any]:
    """metadata.json as rewritten by log_call_end."""
    started = datetime.fromisoformat(meta["started_at"].replace("Z", "+00:00")).timestamp()
    return {
        **meta,
        "ended_at": iso(ended),
        "duration_ms": round((ended - started) * 1000, 1),
        "status": status,
        "turns": turns,
        "cost": {"stt": 0.01, "tts": 0.02, "llm": 0.03, "telephony": 0.04, "total": 0.1, "llm_cached_savings": 0.0},
        "latency": {
            "p50_ms": 650.0,
            "p95_ms": 900.0,
            "p99_ms": 950.0,
            "avg": latency(700.0),
            "p50": latency(650.0),
            "p95": latency(900.0),
            "p99": latency(950.0),
        },
        "error": None,
    }


def turn_line(index: int, ts: float) -> dict[str, Any]:
    """One transcript.jsonl record (CallLogger.log_turn of an asdict'ed TurnMetrics)."""
    return {
        "schema_version": "1.0",
        "ts": iso(ts),
        "turn_index": index,
        "user_text": f"question {index}",
        "agent_text": f"answer {index}",
        "latency": latency(600.0 + index),
        "stt_audio_seconds": 1.2,
        "tts_characters": 8,
        "timestamp": ts,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (tmp + rename) like CallLogger."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp.metadata.json")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one line like CallLogger."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def write_call(
    root: Path, call_id: str, *, started: float = T0, turns: int = 2, ended: bool = True, status: str = "completed"
) -> Path:
    """A whole call directory: metadata, transcript lines, one tool_call event, the end."""
    where = call_dir(root, call_id, started)
    meta = start_metadata(call_id, started)
    write_json(where / "metadata.json", meta)
    for i in range(turns):
        append_jsonl(where / "transcript.jsonl", turn_line(i, started + 5 * (i + 1)))
    append_jsonl(
        where / "events.jsonl",
        {"schema_version": "1.0", "ts": iso(started + 3), "type": "tool_call", "data": {"name": "lookup"}},
    )
    if ended:
        write_json(where / "metadata.json", end_metadata(meta, ended=started + 60, turns=turns, status=status))
    return where
