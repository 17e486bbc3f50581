"""Fast generation of big event logs: EventLog.append in batches of ~5,000 pre-validated events.

Going through ``EventLog.append`` fills the ``calls`` summary table exactly as the
server would. One call's events are validated once and cloned per call (new ids
and call ids), so a 1M-event log takes seconds, not minutes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.payloads import call_end_payload, call_start_payload, native_call_events
from patterdash.core.events import validate_event
from patterdash.sources.ingest import patter_event
from patterdash.store.sqlite import EventLog

__all__ = ["native_log", "pairs_log"]

GEN_VERSION = 2


def _clone(template: list[dict[str, Any]], call_id: str, ts: float) -> Iterator[dict[str, Any]]:
    base = template[0]["ts"]
    for ev in template:
        yield {
            "id": ev["id"].replace("TEMPLATE", call_id),
            "type": ev["type"],
            "call_id": call_id,
            "ts": ts + (ev["ts"] - base),
            "data": ev["data"],  # shared: the log only serialises it
        }


def _write(path: Path, calls: Iterator[list[dict[str, Any]]], *, target_events: int, batch: int = 5000) -> int:
    log = EventLog(path)
    seq = log.max_seq()
    pending: list[dict[str, Any]] = []
    written = 0
    try:
        for events in calls:
            pending.extend(events)
            if len(pending) >= batch or written + len(pending) >= target_events:
                pending = pending[: target_events - written]
                out = log.append([pending], known_seq=seq)
                seq = out.events[-1].seq if out.events else seq
                written += len(pending)
                pending = []
            if written >= target_events:
                break
    finally:
        log.close()
    return written


def native_log(path: Path, events: int, *, active: int = 10, turns: int = 10) -> dict[str, Any]:
    """A log of whole calls as native events (32 per call at 10 turns), plus ``active`` open calls at the end."""
    now = time.time()
    template = [validate_event(e, now=now) for e in native_call_events("TEMPLATE", turns=turns)]
    per_call = len(template)
    completed = max(1, (events - active * 2) // per_call)
    started = time.perf_counter()

    def calls() -> Iterator[list[dict[str, Any]]]:
        t0 = now - completed * 200
        for i in range(completed):
            yield list(_clone(template, f"gen-{i}", t0 + i * 200))
        for i in range(10**9):  # open calls (start + one line) fill the rest, stamped now so none is stale
            yield list(_clone(template[:2], f"open-{i}", now))

    written = _write(path, calls(), target_events=events)
    return {"events": written, "calls": completed, "seconds": round(time.perf_counter() - started, 2)}


def pairs_log(path: Path, calls: int, *, turns: int = 10) -> dict[str, Any]:
    """A log of ``calls`` Patter-style start+end pairs (what the SDK's ingest produces)."""
    now = time.time()
    start, _ = patter_event(call_start_payload("TEMPLATE"), now=now)
    end, _ = patter_event(call_end_payload("TEMPLATE", turns=turns), now=now)
    template = [start, {**end, "ts": start["ts"] + 120}]
    started = time.perf_counter()

    def gen() -> Iterator[list[dict[str, Any]]]:
        t0 = now - calls * 150
        for i in range(calls):
            yield list(_clone(template, f"exp-{i}", t0 + i * 150))

    written = _write(path, gen(), target_events=2 * calls)
    return {"events": written, "calls": calls, "seconds": round(time.perf_counter() - started, 2)}
