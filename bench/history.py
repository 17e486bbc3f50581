"""A 30-day history query on a big log: rollups vs the naive scan (``python -m bench.history``).

Writes a log of ``--calls`` calls spread evenly over 30 days (each a call_start and a Patter
call_end with 10 turns, a mix of outcomes and directions) through ``Store.append`` in batches, so
the rollups are kept exactly as the server keeps them. Then, in the same run, times the history
answer for the 30 days (default buckets, what ``GET /api/dashboard/history`` computes) from the
rollups many times (p50/p99), and the naive answer (fold every call of the log, keep those in
the range, aggregate) a few times, and checks both give the same totals.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.payloads import call_end_payload, call_start_payload
from patterdash.core.events import validate_event
from patterdash.core.history import assemble, rows_of_facts, window
from patterdash.core.rollups import fact_of
from patterdash.export import log_records
from patterdash.store import Store, open_store

DAY = 86_400
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_STATUSES = ("completed",) * 6 + ("busy", "no-answer", "failed")


def _templates() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """A few validated (start, end) pairs; calls are cheap clones of them (new ids and times)."""
    out = []
    for seed, status in enumerate(_STATUSES):
        start = call_start_payload("TEMPLATE")
        end = call_end_payload("TEMPLATE", seed=seed)
        if status != "completed":
            end["status"] = status
        start["direction"] = end["direction"] = "outbound" if seed % 2 else "inbound"
        out.append(
            (
                validate_event({"type": "call_start", "call_id": "TEMPLATE", "data": start, "ts": T0}, now=T0),
                validate_event({"type": "call_end", "call_id": "TEMPLATE", "data": end, "ts": T0 + 60}, now=T0),
            )
        )
    return out


def _calls(count: int) -> Iterator[list[dict[str, Any]]]:
    templates = _templates()
    step = 30 * DAY / count
    for n in range(count):
        start, end = templates[n % len(templates)]
        cid, at = f"c{n:07d}", T0 + n * step
        end_data = {**end["data"], "started_at": at, "ended_at": at + 60}
        yield [
            {**start, "id": f"{cid}:s", "call_id": cid, "ts": at, "data": start["data"]},
            {**end, "id": f"{cid}:e", "call_id": cid, "ts": at + 60, "data": end_data},
        ]


def write_log(path: Path, calls: int, *, batch: int = 2_000) -> float:
    """Write the log; returns the seconds it took."""
    started = time.perf_counter()
    store = open_store(path)
    pending: list[dict[str, Any]] = []
    try:
        for events in _calls(calls):
            pending += events
            if len(pending) >= batch:
                store.append([pending], known_seq=store.max_seq())
                pending = []
        if pending:
            store.append([pending], known_seq=store.max_seq())
    finally:
        store.close()
    return time.perf_counter() - started


def from_rollups(store: Store, lo: float, hi: float) -> dict[str, Any]:
    """What the history route answers without filters."""
    win = window(lo, hi, None)
    rows, hist = store.rollup_rows(win.spans(), every=win.bucket, statuses=None, direction=None)
    return assemble(rows, hist, win)


def naive(store: Store, lo: float, hi: float) -> dict[str, Any]:
    """The same answer without rollups: fold every call of the log and keep the range's."""
    win = window(lo, hi, None)
    facts = (fact_of(r) for r in log_records(store) if win.lo <= (r.get("started_at") or 0) < win.hi)
    rows, hist = rows_of_facts(facts)
    return assemble(rows, hist, win)


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def measure(calls: int, *, runs: int = 200, naive_runs: int = 2) -> dict[str, Any]:
    """Build the log, then time both answers to the same 30-day question in this run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        build_s = write_log(path, calls)
        store = open_store(path)
        try:
            lo, hi = T0, T0 + 30 * DAY
            fast: list[float] = []
            for _ in range(runs):
                t = time.perf_counter()
                answer = from_rollups(store, lo, hi)
                fast.append(time.perf_counter() - t)
            slow: list[float] = []
            for _ in range(naive_runs):
                t = time.perf_counter()
                reference = naive(store, lo, hi)
                slow.append(time.perf_counter() - t)
            assert answer["totals"] == reference["totals"], "rollups and the scan disagree"
            assert answer["series"] == reference["series"], "rollups and the scan disagree"
            size = sum(p.stat().st_size for p in path.parent.iterdir())
        finally:
            store.close()
    rollup, scan = _ms(fast), _ms(slow)
    return {
        "calls": calls,
        "events": 2 * calls,
        "log_bytes": size,
        "build_s": round(build_s, 1),
        "query": "30 days, default buckets (6 h: 120 points), no filters",
        "rollups": rollup,
        "naive_scan": scan,
        "ratio_p50": round(scan["p50_ms"] / rollup["p50_ms"]),
        "answer_calls": answer["totals"]["calls"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--naive-runs", type=int, default=2)
    args = parser.parse_args()
    json.dump(measure(args.calls, runs=args.runs, naive_runs=args.naive_runs), sys.stdout, indent=1)
    print()
