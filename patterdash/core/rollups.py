"""Rollups: pure bucket math for the history over the whole log (no I/O).

A completed, not deleted call contributes one ``CallFact`` (its outcome, sums and turn-latency
histogram) to the rollup rows of the bucket holding its ``started_at``, at three grains
(minute, hour, 6 hours, UTC day), keyed by (grain, bucket, status, direction). A store keeps these rows in
the same transaction as the append (``commit_changes`` says which calls to recompute) and can
rebuild them from the log; both paths fold the call with ``fold_call``, so they agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from patterdash.core.aggregates import OUTCOMES, contribution_of, outcome_of
from patterdash.core.events import LoggedEvent, completes_call
from patterdash.core.projection import fold_call

__all__ = [
    "FACT_COLUMNS",
    "GRAINS",
    "HIST_BINS",
    "HIST_GROWTH",
    "OUTCOMES",
    "SUM_FIELDS",
    "CallChange",
    "CallFact",
    "Deltas",
    "Span",
    "bin_value",
    "candidates",
    "commit_changes",
    "cover",
    "fact_from_row",
    "fact_of",
    "fact_row",
    "latency_bin",
    "outcome_of",
    "plan_writes",
    "turns_settled",
]

GRAINS = (60, 3600, 21600, 86400)  # minute, hour, 6 h, UTC day rows: a range reads the coarsest that fit
SUM_FIELDS = (
    "calls",
    "duration_us",
    "cost_us",
    "cost_stt_us",
    "cost_tts_us",
    "cost_llm_us",
    "cost_telephony_us",
    "latency_sum_us",  # per-call latency_avg, summed like the ring's avg_latency_ms
    "latency_n",
    "turns",  # turns with a latency: the histogram's count
)
# Turn-latency histogram: bin 0 is [0, 10 ms), bin k covers [10 * 1.1^(k-1), 10 * 1.1^k) ms,
# the last bin is open-ended (from about 78 s). A percentile read from it is within ~5 %.
HIST_FLOOR_MS = 10.0
HIST_GROWTH = 1.1
HIST_BINS = 96
_LOG_GROWTH = math.log(HIST_GROWTH)
FACT_COLUMNS = ("call_id", "started_at", "status", "direction", "agent", "providers", "deleted", *SUM_FIELDS, "hist")
_PATCHES = frozenset({"call_end", "call_status"})  # the only events that change a completed call's fact

Span = tuple[int, int, int]  # (grain, first bucket, end): rows with first <= bucket < end
RowKey = tuple[int, int, str, str]  # (grain, bucket, status, direction)


def latency_bin(ms: float) -> int:
    """The histogram bin of one turn latency."""
    if ms < HIST_FLOOR_MS:
        return 0
    return min(HIST_BINS - 1, 1 + int(math.log(ms / HIST_FLOOR_MS) / _LOG_GROWTH))


def bin_value(index: int) -> float:
    """The value a bin stands for: its geometric middle (the lower edge for the open last bin)."""
    if index <= 0:
        return HIST_FLOOR_MS / 2
    if index >= HIST_BINS - 1:
        return float(HIST_FLOOR_MS * HIST_GROWTH ** (HIST_BINS - 2))
    return float(HIST_FLOOR_MS * HIST_GROWTH ** (index - 0.5))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _started(record: Mapping[str, Any]) -> float:
    value = record.get("started_at")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


@dataclass(frozen=True)
class CallFact:
    """What one completed call contributes to the rollups (and what the history list filters on)."""

    call_id: str
    started_at: float
    status: str
    direction: str
    agent: str = ""
    providers: str = ""  # "|deepgram|openai|...|": the providers and mode, for a LIKE filter
    sums: tuple[int, ...] = (0,) * len(SUM_FIELDS)
    hist: dict[int, int] = field(default_factory=dict)

    def bucket(self, grain: int) -> int:
        """The start of the bucket of this grain holding the call's start."""
        return int(self.started_at // grain) * grain


def fact_of(record: Mapping[str, Any]) -> CallFact:
    """A completed call record's fact (pure): the ring's contribution plus identity and outcome."""
    c = contribution_of(dict(record))
    hist: dict[int, int] = {}
    for ms in c.turn_latencies:
        b = latency_bin(ms)
        hist[b] = hist.get(b, 0) + 1
    metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    assert isinstance(metrics, dict)
    names = [_text(metrics.get(k)) for k in ("stt_provider", "tts_provider", "llm_provider")]
    names += [_text(metrics.get("telephony_provider")), _text(metrics.get("provider_mode"))]
    providers = "".join(f"|{n}" for n in names if n) + "|" if any(names) else ""
    latency_n = 1 if c.latency_ms > 0 else 0
    return CallFact(
        call_id=str(record.get("call_id") or ""),
        started_at=_started(record),
        status=_text(record.get("status")),
        direction=_text(record.get("direction")),
        agent=_text(record.get("agent")) or _text(metrics.get("agent")),
        providers=providers,
        sums=(1, c.duration, c.cost_total, *c.costs, c.latency_ms, latency_n, len(c.turn_latencies)),
        hist=hist,
    )


def fact_row(fact: CallFact, *, deleted: bool) -> tuple[Any, ...]:
    """A fact as a stored row, in ``FACT_COLUMNS`` order (the histogram as JSON)."""
    hist = orjson.dumps({str(k): v for k, v in sorted(fact.hist.items())}).decode()
    return (
        fact.call_id,
        fact.started_at,
        fact.status,
        fact.direction,
        fact.agent,
        fact.providers,
        int(deleted),
        *fact.sums,
        hist,
    )


def fact_from_row(row: Sequence[Any]) -> tuple[CallFact, bool]:
    """A stored row back into (fact, deleted)."""
    cid, started, status, direction, agent, providers, deleted, *rest = row
    sums, hist = tuple(int(v) for v in rest[:-1]), orjson.loads(rest[-1])
    fact = CallFact(cid, started, status, direction, agent, providers, sums, {int(k): v for k, v in hist.items()})
    return fact, bool(deleted)


@dataclass
class Deltas:
    """Additive changes to rollup rows and histogram rows (zero changes dropped)."""

    rows: dict[RowKey, list[int]] = field(default_factory=dict)
    hist: dict[tuple[int, int, str, str, int], int] = field(default_factory=dict)

    def add(self, fact: CallFact, sign: int, *, grains: Sequence[int] = GRAINS) -> None:
        """Count a fact in (+1) or out (-1) at every grain."""
        for grain in grains:
            key = (grain, fact.bucket(grain), fact.status, fact.direction)
            row = self.rows.setdefault(key, [0] * len(SUM_FIELDS))
            for i, v in enumerate(fact.sums):
                row[i] += sign * v
            for b, n in fact.hist.items():
                hkey = (*key, b)
                self.hist[hkey] = self.hist.get(hkey, 0) + sign * n

    def nonzero(self) -> Deltas:
        """The same changes without entries that cancelled out."""
        return Deltas(
            rows={k: v for k, v in self.rows.items() if any(v)},
            hist={k: v for k, v in self.hist.items() if v},
        )


@dataclass
class CallChange:
    """One call touched by a commit: whether it counted before, and what it is after."""

    completed: bool
    deleted: bool
    counted_before: bool
    recompute: bool = False


def commit_changes(events: Iterable[LoggedEvent], known: Mapping[str, bool]) -> dict[str, CallChange]:
    """Which calls a commit's events change in the rollups, replaying the calls index's rules.

    ``known`` maps each candidate call that already has a fact (completed before this commit)
    to its deleted flag. A ``calls_deleted`` applies to a call completed at that point (as the
    calls index does); after completion only ``call_end`` and ``call_status`` change a fact.
    """
    out: dict[str, CallChange] = {}

    def change(call_id: str) -> CallChange:
        found = out.get(call_id)
        if found is None:
            deleted = known.get(call_id)
            before = deleted is not None
            found = out[call_id] = CallChange(before, bool(deleted), before and not deleted)
        return found

    for ev in events:
        if ev.type in ("calls_deleted", "calls_purged"):  # a purge first takes the calls out, as a delete
            for call_id in ev.data.get("call_ids") or []:
                c = change(call_id)
                if c.completed and not c.deleted:
                    c.deleted = True
            continue
        if not (completes_call(ev.type, ev.data) or ev.type in _PATCHES):
            continue
        c = change(ev.call_id)
        if not c.completed and completes_call(ev.type, ev.data):
            c.completed = c.recompute = True
        elif c.completed:
            c.recompute = True
    return {k: v for k, v in out.items() if v.completed}


def plan_writes(
    changes: Mapping[str, CallChange], known: Mapping[str, tuple[CallFact, bool]], fresh: Mapping[str, CallFact]
) -> tuple[list[tuple[CallFact, bool]], Deltas]:
    """The fact rows (fact, deleted) to store and the rollup deltas of a commit's changes.

    ``known`` holds the stored (fact, deleted) of calls completed before; ``fresh`` the facts
    refolded for calls whose ``recompute`` is set. A call counted before is taken out with its
    stored fact, and put back with its new one unless it is deleted now.
    """
    rows: list[tuple[CallFact, bool]] = []
    deltas = Deltas()
    for call_id, change in changes.items():
        old = known.get(call_id)
        new = fresh.get(call_id) or (old[0] if old else None)
        if new is None:
            continue
        if change.counted_before and old is not None:
            deltas.add(old[0], -1)
        if not change.deleted:
            deltas.add(new, +1)
        rows.append((new, change.deleted))
    return rows, deltas.nonzero()


def turns_settled(events: Iterable[LoggedEvent]) -> bool:
    """Whether a call's live turns can no longer change its fact, given its newest events: the
    last ``call_end`` among them that carries metrics carries turns, which ``turns_of`` prefers."""
    last = None
    for ev in events:
        if ev.type == "call_end" and ev.data.get("metrics") is not None:
            last = ev.data["metrics"]
    return isinstance(last, dict) and bool(last.get("turns"))


# A backend's read of stored events: (call ids, their turns settled?, below seq) -> events per call.
StoredEvents = Callable[[list[str], bool, int], dict[str, list[LoggedEvent]]]
_NO_SEQ = 2**63 - 1


def fold_facts(call_ids: Sequence[str], commit: Sequence[LoggedEvent], stored: StoredEvents) -> dict[str, CallFact]:
    """Each call's fact, folded from its stored events before ``commit`` (the append's own new
    events, in memory: a 9 KB call_end is not read back) and those of ``commit``; calls whose
    turns are settled (``turns_settled``) have their stored turns left unread."""
    newest: dict[str, list[LoggedEvent]] = {c: [] for c in call_ids}
    for ev in commit:
        if ev.call_id in newest:
            newest[ev.call_id].append(ev)
    before = commit[0].seq if commit else _NO_SEQ
    settled = {c for c in call_ids if turns_settled(newest[c])}
    events = stored([c for c in call_ids if c not in settled], False, before)
    events.update(stored([c for c in call_ids if c in settled], True, before))
    out = {}
    for call_id in call_ids:
        record = fold_call([*events[call_id], *newest[call_id]])
        if record is not None:
            out[call_id] = fact_of(record)
    return out


def candidates(events: Iterable[LoggedEvent]) -> list[str]:
    """Call ids whose rollup state a commit may change (so a store reads only their facts)."""
    ids: dict[str, None] = {}
    for ev in events:
        if ev.type in ("calls_deleted", "calls_purged"):
            ids.update(dict.fromkeys(i for i in ev.data.get("call_ids") or [] if isinstance(i, str)))
        elif ev.type in _PATCHES:
            ids[ev.call_id] = None
    return list(ids)


def cover(lo: int, hi: int, grains: Sequence[int]) -> list[Span]:
    """Split [lo, hi) (minute-aligned) into spans of the coarsest grains that fit exactly."""
    if lo >= hi:
        return []
    ordered = sorted(grains)
    g = ordered[-1]
    a, b = -(-lo // g) * g, (hi // g) * g
    if len(ordered) == 1:
        return [(g, lo, hi)]
    if a >= b:
        return cover(lo, hi, ordered[:-1])
    return [*cover(lo, a, ordered[:-1]), (g, a, b), *cover(b, hi, ordered[:-1])]
