"""OTLP spans -> native events: Pipecat's conversation/turn/stt/llm/tts spans and Patter's ``getpatter.*``.

SDKs export a span when it ends, so a turn's parts (stt, llm, tts) arrive before the turn and the
conversation root arrives last, possibly over several requests. ``SpanAssembler`` keeps, per trace,
the call id once learned and the parts seen (bounded, in memory, no I/O) so that:

- the first span of a conversation opens the call (``call_start``): it is live at once;
- a finished ``turn`` becomes ``turn_complete`` with its parts' latency breakdown and texts;
- the root's end becomes ``call_end`` with totals (tokens, characters, duration, cost when priced);
- tool calls and spans of unknown shape join the call timeline as ``call_event``;
- a span whose trace never shows a conversation id is skipped and counted with its reason.

Every event id comes from the trace/span ids (or the conversation id), so an exporter's retry
re-sends the same ids and the log appends nothing twice.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from patterdash.sources.ingest import BadPayload
from patterdash.sources.otlp_decode import Span
from patterdash.sources.otlp_turns import (
    LLM_NAMES,
    STT_NAMES,
    TTS_NAMES,
    call_metrics,
    event_id,
    merged_turns,
    num,
    span_detail,
    text,
    turn_from_parts,
)
from patterdash.sources.prices import PriceTable

__all__ = ["CALL_ID_KEYS", "Mapped", "SpanAssembler", "Trace", "call_id_of", "check_times"]

# Attributes naming the conversation a span belongs to, in order of preference.
CALL_ID_KEYS = ("conversation.id", "patter.call.id", "call.id", "session.id")
_ROOTS = frozenset({"conversation", "getpatter.call"})
_TURNS = frozenset({"turn"})
_PARTS = STT_NAMES | LLM_NAMES | TTS_NAMES | {"getpatter.endpoint", "getpatter.bargein"}
_TOOL_KINDS = {
    "llm_tool_call": "tool_call",
    "llm_tool_result": "tool_result",
    "getpatter.tool": "tool_call",
    "function_tool": "tool_call",  # LiveKit Agents
}
_TOOL_NAME_KEYS = ("tool.function_name", "lk.function_tool.name", "patter.tool.name", "gen_ai.tool.name")
_EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01: anything before is a clock or encoding error
_FUTURE_SLACK_S = 86_400.0
NO_CONVERSATION = "no conversation id"


def check_times(spans: list[Span], *, now: float) -> None:
    """Refuse (BadPayload) a batch holding a span with absurd times: nothing of it is stored."""
    latest = int((now + _FUTURE_SLACK_S) * 1e9)
    bad = [
        {"span_id": s.span_id, "name": s.name[:80]}
        for s in spans
        if not (_EARLIEST_NS <= s.start_ns <= s.end_ns <= latest)
    ]
    if bad:
        raise BadPayload(
            "spans with impossible times (before 2000, ending before they start, or in the future)",
            {"spans": bad[:20], "count": len(bad)},
        )


def call_id_of(span: Span) -> str | None:
    """The conversation id a span names itself, if any (long ids are hashed to fit)."""
    for key in CALL_ID_KEYS:
        value = span.attributes.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            value = str(value)
            return value if len(value) <= 200 else event_id("otlp-call", value)
    return None


@dataclass
class Trace:
    call_id: str | None = None
    parts: dict[str, Span] = field(default_factory=dict)  # span_id -> stt/llm/tts... span
    turn_ids: set[str] = field(default_factory=set)  # span ids of the turns already built
    claimed: set[str] = field(default_factory=set)  # parts a turn took though not under it (LiveKit's user turns)
    waiting: dict[str, Span] = field(default_factory=dict)  # spans seen before their call id


@dataclass
class Mapped:
    """What a batch became: events to append (all or none) and the spans refused, with why."""

    events: list[dict[str, Any]]
    rejected: int = 0
    reason: str = ""


class SpanAssembler:
    """Per-trace memory (bounded) that turns span batches into native events; no I/O."""

    roots: frozenset[str] = _ROOTS
    turns: frozenset[str] = _TURNS
    parts: frozenset[str] = _PARTS
    source = "otlp"

    def __init__(self, *, prices: PriceTable | None = None, max_traces: int = 5_000, max_spans: int = 50_000):
        self.prices = prices or PriceTable()
        self.max_traces = max_traces
        self.max_spans = max_spans
        self.traces: OrderedDict[str, Trace] = OrderedDict()
        self.held = 0
        self.skipped: Counter[str] = Counter()
        self.received = 0

    def _trace(self, trace_id: str) -> Trace:
        trace = self.traces.get(trace_id)
        if trace is None:
            trace = self.traces[trace_id] = Trace()
        self.traces.move_to_end(trace_id)
        return trace

    def _evict(self) -> None:
        while self.traces and (len(self.traces) > self.max_traces or self.held > self.max_spans):
            _, trace = self.traces.popitem(last=False)
            self.held -= len(trace.parts) + len(trace.waiting)
            if trace.waiting:  # these never learned their call: say so in /metrics
                self.skipped[NO_CONVERSATION] += len(trace.waiting)

    def _hold(self, store: dict[str, Span], span: Span) -> None:
        if span.span_id not in store:
            self.held += 1
        store[span.span_id] = _slim(span)

    def map(self, spans: list[Span], *, turns_of: Callable[[str], list[dict[str, Any]]]) -> Mapped:
        """One request's spans -> events. ``turns_of(call_id)`` gives the turns already folded for a call."""
        self.received += len(spans)
        rejected = 0
        for span in spans:  # learn call ids first: a batch may hold a turn and its earlier parts
            if (call_id := self.call_id_of(span)) is not None:
                self._trace(span.trace_id).call_id = call_id
        ready: list[Span] = []
        for span in spans:
            trace = self._trace(span.trace_id)
            if trace.call_id is None and not span.parent_id and not self.is_root(span):
                rejected += 1 + len(trace.waiting)  # a finished root naming no conversation: nothing will
                self.held -= len(trace.waiting)
                trace.waiting.clear()
            elif trace.call_id is None:
                self._hold(trace.waiting, span)
            else:
                ready.extend(trace.waiting.values())
                self.held -= len(trace.waiting)
                trace.waiting.clear()
                ready.append(span)
        self.skipped[NO_CONVERSATION] += rejected
        events = self._events(ready, turns_of)
        self._evict()
        return Mapped(events, rejected, f"{rejected} span(s) without a conversation id" if rejected else "")

    def call_id_of(self, span: Span) -> str | None:
        """The call a span names (Pipecat's ``conversation.id``, Patter's ``patter.call.id``...)."""
        return call_id_of(span)

    def is_root(self, span: Span) -> bool:
        """Whether the span's end is the call's end."""
        return span.name in self.roots and not span.parent_id

    def _events(self, spans: list[Span], turns_of: Callable[[str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        for span in spans:  # parts first, so a turn in the same batch finds them
            if span.name in self.parts:
                self._hold(self._trace(span.trace_id).parts, span)
        opened: dict[str, dict[str, Any]] = {}
        body: list[tuple[float, dict[str, Any]]] = []
        new_turns: dict[str, list[dict[str, Any]]] = {}
        roots: list[tuple[Span, str]] = []
        for span in sorted(spans, key=lambda s: s.end_ns):
            trace = self._trace(span.trace_id)
            call_id = trace.call_id or ""
            opened.setdefault(call_id, _call_start(call_id, span, self.source))
            opened[call_id]["ts"] = min(opened[call_id]["ts"], span.start)
            if self.is_root(span):
                roots.append((span, call_id))
            elif span.name in self.turns:
                turn = self._turn(trace, span, len(turns_of(call_id)) + len(new_turns.get(call_id, [])))
                new_turns.setdefault(call_id, []).append(turn)
                body.append((span.end, _event("turn_complete", call_id, span, {"turn": turn})))
            elif span.name not in self.parts:
                body.append((span.end, _timeline_event(call_id, span)))
        events = list(opened.values()) + [e for _, e in sorted(body, key=lambda p: p[0])]
        for root, call_id in roots:
            trace = self._trace(root.trace_id)
            leftovers, patter_turns = self._leftovers(trace)
            events += [_timeline_event(call_id, s) for s in leftovers]
            if patter_turns:
                new_turns.setdefault(call_id, []).extend(patter_turns)
                events += [_patter_turn_event(call_id, root, t) for t in patter_turns]
            turns = merged_turns(turns_of(call_id), new_turns.get(call_id, []))
            events.append(_call_end(call_id, root, turns))
        return events

    def _turn(self, trace: Trace, head: Span, position: int) -> dict[str, Any]:
        """A turn from its head span and the parts under it; ``position`` is its index among the call's turns."""
        parts = [p for p in trace.parts.values() if p.parent_id == head.span_id]
        trace.turn_ids.add(head.span_id)
        index = num(head.attributes.get("turn.number"))
        return turn_from_parts(int(index) if index is not None else 0, parts, head=head, prices=self.prices)

    def _leftovers(self, trace: Trace) -> tuple[list[Span], list[dict[str, Any]]]:
        """At the root's end: parts no turn claimed; Patter's parts grouped by ``patter.turn.idx`` into turns."""
        taken = trace.claimed
        loose = [p for p in trace.parts.values() if p.parent_id not in trace.turn_ids and p.span_id not in taken]
        by_index: dict[int, list[Span]] = {}
        others = []
        for span in loose:
            index = num(span.attributes.get("patter.turn.idx"))
            if index is None:
                others.append(span)
            else:
                by_index.setdefault(int(index), []).append(span)
        turns = [turn_from_parts(i, parts, head=None, prices=self.prices) for i, parts in sorted(by_index.items())]
        return others, turns


_HELD_TEXT = 256  # other texts of a held span are cut to this: an LLM span's prompt can be megabytes
_SPOKEN = frozenset(  # the texts a turn is made of, kept whole (the event model caps them at 100,000)
    {"transcript", "output", "text", "text_output", "lk.pii.user_transcript", "lk.pii.response.text",
     "lk.pii.input_text"}
)  # fmt: skip


def _slim(span: Span) -> Span:
    """The span as held in memory: long texts other than what was said are cut, so memory stays bounded."""
    long = [k for k, v in span.attributes.items() if isinstance(v, str) and len(v) > _HELD_TEXT and k not in _SPOKEN]
    if not long:
        return span
    return replace(span, attributes={**span.attributes, **{k: span.attributes[k][:_HELD_TEXT] for k in long}})


def _event(event_type: str, call_id: str, span: Span, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id("otlp", span.trace_id, span.span_id),
        "type": event_type,
        "call_id": call_id,
        "ts": span.end,
        "data": data,
    }


def _call_start(call_id: str, span: Span, source: str) -> dict[str, Any]:
    data: dict[str, Any] = {"caller": "", "callee": "", "source": source}
    if service := text(span.resource.get("service.name")):
        data["service_name"] = service
    return {"id": event_id("otlp", "call_start", call_id), "type": "call_start", "call_id": call_id,
            "ts": span.start, "data": data}  # fmt: skip


def _timeline_event(call_id: str, span: Span) -> dict[str, Any]:
    """A tool call or a span of unknown shape: kept on the call's timeline, never refused."""
    a = span.attributes
    kind = _TOOL_KINDS.get(span.name) or ("error" if span.error else "span")
    name = next((text(a[k]) for k in _TOOL_NAME_KEYS if a.get(k)), "") or span.name
    return _event("call_event", call_id, span, {"kind": kind, "name": name[:200], "detail": span_detail(span)})


def _patter_turn_event(call_id: str, root: Span, turn: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id("otlp", root.trace_id, root.span_id, "turn", str(turn["turn_index"])),
        "type": "turn_complete",
        "call_id": call_id,
        "ts": turn["timestamp"] or root.end,
        "data": {"turn": turn},
    }


def _call_end(call_id: str, root: Span, turns: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = call_metrics(call_id, turns, duration=root.duration_ms / 1000)
    a = root.attributes
    patter_cost = {k[len("patter.cost.") :]: num(v) for k, v in a.items() if k.startswith("patter.cost.")}
    if patter_cost:
        metrics["cost"] = {**metrics.get("cost", {}), **{k: v for k, v in patter_cost.items() if v is not None}}
    data: dict[str, Any] = {"metrics": metrics, "started_at": root.start, "ended_at": root.end}
    if root.error:
        data["status"] = "failed"
        metrics["error_code"] = root.status_message[:200] or "error"
    return _event("call_end", call_id, root, data)
