"""Pure steps of an append shared by every backend: seqs and duplicates, conflicts, call summaries.

Each backend runs them inside its own transaction (after taking its write lock), so the
rules (idempotent ids, a conflict flag for re-used ids, the calls summary) are one code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from patterdash.core.events import NOT_CALL_EVENT_TYPES, LoggedEvent, completes_call
from patterdash.store.base import content_hash

__all__ = ["Plan", "conflicts_of", "fold_call_summary", "plan_append", "summary_steps"]

Row = tuple[int, str, str, str, float, bytes]


@dataclass
class Plan:
    """What to insert for a group of batches, and what each batch's events answer."""

    rows: list[Row] = field(default_factory=list)
    events: list[LoggedEvent] = field(default_factory=list)
    seqs: list[list[int]] = field(default_factory=list)
    repeats: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # (batch, index, event)


def plan_append(batches: Sequence[Sequence[dict[str, Any]]], seen: dict[str, int], last: int) -> Plan:
    """Seqs after ``last`` for new ids; ``seen`` (id -> stored seq) answers re-used ids."""
    plan = Plan()
    for batch_no, batch in enumerate(batches):
        batch_seqs = []
        for index, ev in enumerate(batch):
            old = seen.get(ev["id"])
            if old is not None:
                plan.repeats.append((batch_no, index, ev))
                batch_seqs.append(old)
                continue
            last += 1
            seen[ev["id"]] = last
            batch_seqs.append(last)
            data = ev["data"]
            blob = orjson.dumps(data)
            plan.rows.append((last, ev["id"], ev["type"], ev["call_id"], ev["ts"], blob))
            plan.events.append(LoggedEvent(last, ev["id"], ev["type"], ev["call_id"], ev["ts"], data, blob))
        plan.seqs.append(batch_seqs)
    return plan


def conflicts_of(
    plan: Plan, batches: int, stored: Callable[[list[str]], Mapping[str, tuple[str, str, Any]]]
) -> list[list[int]]:
    """Per batch, the indexes of re-used ids whose content differs from what holds the id.

    ``stored(ids)`` returns (type, call_id, data) of stored events; events new in this
    commit are compared directly. Only re-used ids are hashed: new events cost nothing.
    """
    out: list[list[int]] = [[] for _ in range(batches)]
    if not plan.repeats:
        return out
    hashes = {ev.id: content_hash(ev.type, ev.call_id, ev.data) for ev in plan.events}
    missing = [i for i in dict.fromkeys(ev["id"] for _, _, ev in plan.repeats) if i not in hashes]
    for event_id, (event_type, call_id, data) in stored(missing).items():
        hashes[event_id] = content_hash(event_type, call_id, data)
    for batch_no, index, ev in plan.repeats:
        if hashes.get(ev["id"]) != content_hash(ev["type"], ev["call_id"], ev["data"]):
            out[batch_no].append(index)
    return out


def fold_call_summary(row: dict[str, Any] | None, ev: LoggedEvent) -> dict[str, Any]:
    """Fold one event into a call's summary row (the ``calls`` table): a new row from None,
    else the given row updated in place (it runs for every appended event). Returns the row."""
    if row is None:
        row = {
            "call_id": ev.call_id,
            "first_seq": ev.seq,
            "last_seq": ev.seq,
            "last_ts": ev.ts,
            "completed_seq": None,
            "deleted": 0,
        }
    else:
        row["last_seq"] = ev.seq
        if ev.ts > row["last_ts"]:
            row["last_ts"] = ev.ts
    if row["completed_seq"] is None and completes_call(ev.type, ev.data):
        row["completed_seq"] = ev.seq
    return row


def summary_steps(events: list[LoggedEvent]) -> list[dict[str, dict[str, Any]] | list[str]]:
    """The calls-summary writes of a commit, in order: dicts of folded rows to upsert (merge:
    first_seq and deleted kept, last_seq replaced, last_ts the max, completed_seq the first
    ever) and lists of call ids a ``calls_deleted`` marks deleted at that point."""
    steps: list[dict[str, dict[str, Any]] | list[str]] = []
    deltas: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev.type == "calls_deleted":
            if deltas:
                steps.append(deltas)
            deltas = {}
            steps.append(list(ev.data["call_ids"]))
            continue
        if ev.type in NOT_CALL_EVENT_TYPES:  # alert streams are no calls: kept out of the calls index
            continue
        deltas[ev.call_id] = fold_call_summary(deltas.get(ev.call_id), ev)
    if deltas:
        steps.append(deltas)
    return steps
