"""Event models: the envelope, every event type's data, and validation. No I/O.

Field names follow the Patter SDK so that its payloads and UI work unchanged.
Unknown extra keys are kept (``extra="allow"``), never dropped.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from patterdash.core.dictschema import dict_validator

__all__ = [
    "ADMIN_EVENT_TYPES",
    "CLIENT_EVENT_TYPES",
    "EVENT_DATA_MODELS",
    "EVENT_TYPES",
    "NOT_CALL_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "TERMINAL_STATUSES",
    "AlertFiredData",
    "AlertResolvedData",
    "CallEndData",
    "CallMetrics",
    "CostBreakdown",
    "Event",
    "EventIn",
    "EventValidationError",
    "LatencyBreakdown",
    "LoggedEvent",
    "TranscriptEntry",
    "TurnMetrics",
    "completes_call",
    "new_event_id",
    "validate_event",
]

TERMINAL_STATUSES = frozenset(
    {
        "completed",
        "no-answer",
        "busy",
        "failed",
        "canceled",
        "timeout",
        "cancel",
        "webhook_error",
        "lost",
    }
)

# allow_inf_nan=False: declared numbers reject NaN/Infinity (also from strings like "1e999").
_OPEN = ConfigDict(extra="allow", allow_inf_nan=False)
Text = Annotated[str, Field(max_length=100_000)]
Ident = Annotated[str, Field(min_length=1, max_length=200)]


class LatencyBreakdown(BaseModel):
    """Per-turn latency in milliseconds (Patter's LatencyBreakdown)."""

    model_config = _OPEN
    stt_ms: float = 0.0
    llm_ms: float = 0.0
    tts_ms: float = 0.0
    total_ms: float = 0.0
    user_speech_duration_ms: float | None = None
    llm_ttft_ms: float | None = None
    llm_total_ms: float | None = None
    endpoint_ms: float | None = None
    bargein_ms: float | None = None
    tts_total_ms: float | None = None
    agent_response_ms: float | None = None


class TurnMetrics(BaseModel):
    """One conversation turn (Patter's TurnMetrics)."""

    model_config = _OPEN
    turn_index: int = 0
    user_text: Text = ""
    agent_text: Text = ""
    latency: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    stt_audio_seconds: float = 0.0
    tts_characters: int = 0
    timestamp: float = 0.0


class CostBreakdown(BaseModel):
    """Per-call cost in USD (Patter's CostBreakdown)."""

    model_config = _OPEN
    stt: float = 0.0
    tts: float = 0.0
    llm: float = 0.0
    telephony: float = 0.0
    total: float = 0.0
    llm_cached_savings: float = 0.0


class CallMetrics(BaseModel):
    """Accumulated metrics of a whole call (Patter's CallMetrics)."""

    model_config = _OPEN
    call_id: str = ""
    duration_seconds: float = 0.0
    turns: list[TurnMetrics] = Field(default_factory=list)
    cost: CostBreakdown = Field(default_factory=CostBreakdown)
    latency_avg: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    latency_p50: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    latency_p90: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    latency_p95: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    latency_p99: LatencyBreakdown = Field(default_factory=LatencyBreakdown)
    provider_mode: str = ""
    stt_provider: str = ""
    tts_provider: str = ""
    llm_provider: str = ""
    telephony_provider: str = ""
    stt_model: str = ""
    tts_model: str = ""
    llm_model: str = ""
    error_code: str = ""
    preemptive_hits: int = 0
    preemptive_misses: int = 0
    context_tokens: int = 0

    @field_validator(
        "call_id",
        "provider_mode",
        "stt_provider",
        "tts_provider",
        "llm_provider",
        "telephony_provider",
        "stt_model",
        "tts_model",
        "llm_model",
        "error_code",
        mode="before",
    )
    @classmethod
    def _null_text(cls, value: Any) -> Any:
        return "" if value is None else value  # agents in other languages send null for "unset"


class TranscriptEntry(BaseModel):
    """One line of a call's transcript."""

    model_config = _OPEN
    role: str
    text: Text = ""
    timestamp: float | None = None
    turnIndex: int | None = None


class CallInitiatedData(BaseModel):
    """An outbound dial was handed to the carrier."""

    model_config = _OPEN
    caller: str | None = ""
    callee: str | None = ""
    direction: Literal["inbound", "outbound"] | None = "outbound"
    status: str = "initiated"


class CallStartData(BaseModel):
    """The call's media stream began."""

    model_config = _OPEN
    caller: str | None = ""
    callee: str | None = ""
    # None means "not said": a call_start after call_initiated keeps the outbound direction;
    # a call opened by call_start is inbound.
    direction: Literal["inbound", "outbound"] | None = None


class CallStatusData(BaseModel):
    """The carrier reported a status; extra keys travel with it."""

    model_config = _OPEN
    status: Ident


class TranscriptLineData(BaseModel):
    """One transcript line became known during the call."""

    model_config = _OPEN
    turnIndex: int | None = None
    role: Literal["user", "assistant"]
    text: Text


class TurnCompleteData(BaseModel):
    """A conversation turn completed, with its latency breakdown."""

    model_config = _OPEN
    turn: TurnMetrics


class CallEndData(BaseModel):
    """The call ended; final transcript and metrics."""

    model_config = _OPEN
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    metrics: CallMetrics | None = None
    caller: str | None = None
    callee: str | None = None
    direction: Literal["inbound", "outbound"] | None = None
    started_at: float | None = None
    ended_at: float | None = None
    status: str | None = None

    @field_validator("started_at", "ended_at", mode="before")
    @classmethod
    def _epoch(cls, value: Any) -> Any:
        return parse_epoch(value)


class CallEventData(BaseModel):
    """Something happened inside the call beside speech (tool call, barge-in...)."""

    model_config = _OPEN
    kind: Ident
    name: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)


class CallsDeletedData(BaseModel):
    """Calls were soft-deleted from the dashboard; the log keeps their history."""

    model_config = _OPEN
    call_ids: list[Ident] = Field(max_length=10_000)


class AlertFiredData(BaseModel):
    """An alert rule's condition held for its ``for`` duration; the server notified its targets."""

    model_config = _OPEN
    rule: Ident
    metric: str
    op: str
    threshold: float
    value: float | None = None
    samples: int = 0
    window: float = 0.0
    since: float | None = None  # when the condition started to hold
    severity: str = ""
    summary: str = ""


class AlertResolvedData(BaseModel):
    """A firing alert stopped (its condition no longer held for ``keep_firing_for``, or the rule went)."""

    model_config = _OPEN
    rule: Ident
    fired_seq: int | None = None
    fired_at: float | None = None
    value: float | None = None
    samples: int = 0
    reason: str = "recovered"
    summary: str = ""


class RecordingStoredData(BaseModel):
    """The call's audio was stored as a file beside the log (never in the event rows)."""

    model_config = _OPEN
    file: Annotated[str, Field(min_length=1, max_length=200)]
    content_type: str = "application/octet-stream"
    bytes: int = Field(ge=0)
    sha256: str = ""
    started_at: float | None = None  # epoch seconds the audio starts (to seek from transcript times)
    source: str = ""


class CallsPurgedData(BaseModel):
    """Calls were erased from the log for good (retention or a request): only their ids remain, here."""

    model_config = _OPEN
    call_ids: list[Ident] = Field(max_length=100_000)
    reason: str = ""


EVENT_DATA_MODELS: dict[str, type[BaseModel]] = {
    "call_initiated": CallInitiatedData,
    "call_start": CallStartData,
    "call_status": CallStatusData,
    "transcript_line": TranscriptLineData,
    "turn_complete": TurnCompleteData,
    "call_end": CallEndData,
    "call_event": CallEventData,
    "calls_deleted": CallsDeletedData,
    "alert_fired": AlertFiredData,
    "alert_resolved": AlertResolvedData,
    "recording_stored": RecordingStoredData,
    "calls_purged": CallsPurgedData,
}
EVENT_TYPES = tuple(EVENT_DATA_MODELS)
# Events that delete or administer: appending one needs the admin scope on every route.
ADMIN_EVENT_TYPES = frozenset({"calls_deleted"})
# Events only the server writes (its alert evaluator): no producer may send one, admin included,
# or anyone able to ingest (everyone, on an open server) could forge or silence an alert.
# recording_stored points a call at a file in the server's recordings directory: the same rule.
# calls_purged (patterdash forget) says calls were erased: the same rule.
SERVER_EVENT_TYPES = frozenset({"alert_fired", "alert_resolved", "recording_stored", "calls_purged"})
# Events about no call: kept out of the calls index and of the projection's calls.
NOT_CALL_EVENT_TYPES = frozenset({"alert_fired", "alert_resolved", "calls_purged"})
CLIENT_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t not in SERVER_EVENT_TYPES)
ClientEventType = Literal[
    "call_initiated",
    "call_start",
    "call_status",
    "transcript_line",
    "turn_complete",
    "call_end",
    "call_event",
    "calls_deleted",
]
EventType = Literal[
    "call_initiated",
    "call_start",
    "call_status",
    "transcript_line",
    "turn_complete",
    "call_end",
    "call_event",
    "calls_deleted",
    "alert_fired",
    "alert_resolved",
    "recording_stored",
    "calls_purged",
]


class EventIn(BaseModel):
    """An event as a producer sends it: `id` and `ts` are optional."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    id: Ident | None = None
    type: ClientEventType
    call_id: Ident | None = None
    ts: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Event(BaseModel):
    """An event as the log holds it: the envelope of SPEC §2."""

    model_config = ConfigDict(frozen=True)
    seq: int
    id: str
    type: EventType
    call_id: str
    ts: float
    data: dict[str, Any]


class LoggedEvent(NamedTuple):
    """An event as stored: seq assigned by the log, data already parsed."""

    seq: int
    id: str
    type: str
    call_id: str
    ts: float
    data: dict[str, Any]
    data_json: bytes | None = None  # ``data`` as stored (orjson), when known: SSE frames reuse it

    def envelope(self) -> dict[str, Any]:
        """The event as SPEC §2's envelope object."""
        return {
            "seq": self.seq,
            "id": self.id,
            "type": self.type,
            "call_id": self.call_id,
            "ts": self.ts,
            "data": self.data,
        }


class EventValidationError(ValueError):
    """A producer's event does not match the envelope or its type's data model."""

    def __init__(self, detail: Any) -> None:
        super().__init__(str(detail))
        self.detail = detail


_EVENT_IN = dict_validator(EventIn)
_DATA_FROM_JSON = {event_type: dict_validator(model) for event_type, model in EVENT_DATA_MODELS.items()}


def new_event_id() -> str:
    """A fresh idempotency key for an event whose producer gave none."""
    return uuid.uuid4().hex


def parse_epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO-8601 string (naive means UTC)."""
    from datetime import UTC, datetime

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("expected epoch seconds or an ISO-8601 time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise ValueError(f"not a time: {value[:40]!r}") from e
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError("expected epoch seconds or an ISO-8601 time")


def _message(err: Any) -> str:
    """pydantic's message without its "Value error, " prefix (our validators' own words read better bare)."""
    return str(err["msg"]).removeprefix("Value error, ")


def _errors(exc: ValidationError, prefix: str) -> list[dict[str, Any]]:
    return [
        {"loc": ".".join([prefix, *(str(p) for p in err["loc"])]).strip("."), "msg": _message(err)}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def validate_event(raw: Any, *, now: float, from_json: bool = False) -> dict[str, Any]:
    """Validate one producer event; return the envelope to append (without seq).

    The data is normalised through its type's model (defaults filled, unknown keys
    kept). Raises EventValidationError with a list of {loc, msg} on bad input.
    Declared numbers refuse NaN and Infinity (``allow_inf_nan=False``); in unknown
    keys, which only Python callers can fill with them (the HTTP parser refuses
    them), the JSON dump turns them into null, so memory and log always agree.
    ``from_json=True`` says ``raw`` came from a JSON parser (only JSON types, no NaN):
    the data then goes through the dict validator, same rules and same result
    without building models.
    """
    if not isinstance(raw, dict):
        raise EventValidationError([{"loc": "", "msg": "an event must be a JSON object"}])
    try:
        env = _EVENT_IN.validate_python(raw)
    except ValidationError as e:
        raise EventValidationError(_errors(e, "")) from e
    event_type = env["type"]
    call_id = env["call_id"]
    if event_type == "calls_deleted":
        call_id = "*"  # log-wide: the calls are in data.call_ids
    elif call_id is None:
        raise EventValidationError([{"loc": "call_id", "msg": "Field required"}])
    try:
        if from_json:
            data = _DATA_FROM_JSON[event_type].validate_python(env["data"])
        else:
            data = EVENT_DATA_MODELS[event_type].model_validate(env["data"]).model_dump(mode="json")
    except ValidationError as e:
        raise EventValidationError(_errors(e, "data")) from e
    ts = env["ts"]
    return {
        "id": env["id"] or new_event_id(),
        "type": event_type,
        "call_id": call_id,
        "ts": ts if ts is not None else now,
        "data": data,
    }


def completes_call(event_type: str, data: dict[str, Any]) -> bool:
    """Whether this event moves a call out of the active set."""
    if event_type == "call_end":
        return True
    return event_type == "call_status" and data.get("status") in TERMINAL_STATUSES
