"""Pydantic models of the HTTP answers: the source of ``schemas/`` and the contract tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from patterdash.core.events import CallMetrics, TranscriptEntry, TurnMetrics

__all__ = [
    "Aggregates",
    "CallEventEntry",
    "CallRecord",
    "CallSummary",
    "DeleteRequest",
    "DeleteResponse",
    "ErrorResponse",
    "EventsResponse",
    "Health",
    "IngestRejections",
    "IngestResponse",
    "LatencyPercentiles",
    "Me",
    "Outcomes",
    "PatterIngestPayload",
]

_OPEN = ConfigDict(extra="allow")


class CallEventEntry(BaseModel):
    """A ``call_event`` as it appears on the call record's timeline."""

    kind: str
    name: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)
    ts: float


class RunningCost(BaseModel):
    """Costs summed from per-turn ``cost`` extras while a call is live."""

    stt: float = 0.0
    tts: float = 0.0
    llm: float = 0.0
    telephony: float = 0.0
    total: float = 0.0


class _CallIdentity(BaseModel):
    """What both call shapes share: who, which way, status and when."""

    model_config = _OPEN
    call_id: str
    caller: str | None = ""
    callee: str | None = ""
    direction: Literal["inbound", "outbound"]
    status: str
    started_at: float
    ended_at: float | None = None


class CallRecord(_CallIdentity):
    """One call (Patter's call-record shape); active calls have no ``ended_at``."""

    metrics: CallMetrics | dict[str, Any] | None = None
    transcript: list[TranscriptEntry]
    turns: list[TurnMetrics | dict[str, Any]]
    events: list[CallEventEntry] = Field(default_factory=list)
    running_cost: RunningCost | None = None
    transcript_truncated: bool | None = Field(
        None, description="True when the call outgrew the per-call caps: only the newest lines are held."
    )


class CallSummary(_CallIdentity):
    """The light list shape (``view=summary``): no transcript, turns or metrics.turns."""

    metrics: dict[str, Any] | None = None
    turn_count: int


class LatencyPercentiles(BaseModel):
    """Turn-latency percentiles over every turn of the ring's calls, with the turn count."""

    p50: float
    p95: float
    p99: float
    n: int


class CostSplit(BaseModel):
    """Cost by component."""

    stt: float
    tts: float
    llm: float
    telephony: float


class Outcomes(BaseModel):
    """How the ring's calls ended (no_answer counts busy too; failed: any other non-completed end)."""

    completed: int
    failed: int
    no_answer: int
    lost: int


class Aggregates(BaseModel):
    """``GET /api/dashboard/aggregates``."""

    total_calls: int
    total_cost: float
    avg_duration: float
    avg_latency_ms: float
    cost_breakdown: CostSplit
    active_calls: int
    latency_percentiles: LatencyPercentiles
    outcomes: Outcomes


class PatterIngestPayload(BaseModel):
    """The Patter SDK's ``notify_dashboard`` body (any extra keys are kept)."""

    model_config = _OPEN
    call_id: Annotated[str, Field(min_length=1)]
    status: str | None = None
    ended_at: float | str | None = None
    caller: str | None = None
    callee: str | None = None
    direction: str | None = None
    metrics: CallMetrics | None = None
    transcript: list[TranscriptEntry] | None = None


class IngestResponse(BaseModel):
    """``POST /api/dashboard/ingest``."""

    ok: Literal[True]
    call_id: str
    event: Literal["initiated", "started", "ended"]
    seq: int
    conflict: bool = Field(False, description="The id was already stored with other content (the first is kept).")


class EventsResponse(BaseModel):
    """``POST /api/events``: the seq and id of each event, in request order."""

    ok: Literal[True]
    count: int
    seqs: list[int]
    ids: list[str]
    conflicts: list[bool] = Field(
        description="Per event: its id was already stored with other content (the first is kept)."
    )


class DeleteRequest(BaseModel):
    """``POST /api/dashboard/calls/delete``."""

    call_ids: list[Annotated[str, Field(min_length=1)]]


class DeleteResponse(BaseModel):
    """Soft-delete answer: the ids actually deleted (active and unknown ones are skipped)."""

    deleted: list[str]
    count: int


class Health(BaseModel):
    """``GET /healthz``."""

    ok: bool
    seq: int
    writable: bool
    backend: str = Field(description="The store holding the log: sqlite or postgresql.")


class Me(BaseModel):
    """``GET /api/me``: who this session is and what it may do (an open server allows everything)."""

    open: bool
    scope: Literal["admin", "read", "ingest"] | None
    rights: list[Literal["read", "ingest", "admin"]]


class IngestRejections(BaseModel):
    """``GET /api/dashboard/ingest/rejections``: ingest requests refused in the last hour, by reason."""

    window_seconds: int
    total: int
    by_reason: dict[str, int]


class ErrorResponse(BaseModel):
    """Every error: a short message and a machine-readable detail."""

    error: str
    detail: Any = None
