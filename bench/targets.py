"""The target table (issue 16): each target measured from a results JSON, now and before, first on the page.

``python -m bench`` prints it to stdout when a run ends; ``render`` puts it first in docs/performance.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BASELINE", "RETIRED", "TARGETS", "Target", "before_note", "table"]

BASELINE = Path(__file__).resolve().parent / "results" / "baseline-41799bc.json"

Measured = tuple[str, bool | None]  # the figure as shown, whether the target is met (None: no verdict)
Workloads = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One row: what is measured, the goal, and how to read it from the workloads of a run."""

    name: str
    goal: str
    measure: Callable[[Workloads], Measured | None]


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _point(w: Workloads, server: str, point: str) -> dict[str, Any] | None:
    res: dict[str, Any] | None = (w.get("ingest") or {}).get("results", {}).get(server, {}).get(point)
    return res


def _vs_patter(c: int, goal: float) -> Callable[[Workloads], Measured | None]:
    def measure(w: Workloads) -> Measured | None:
        ours, theirs = _point(w, "patterdash", f"pairs_c{c}"), _point(w, "patter", f"pairs_c{c}")
        if not ours or not theirs:
            return None
        r = ours["rps"] / theirs["rps"]
        return f"{_x(r)} ({ours['rps']:,.0f} vs {theirs['rps']:,.0f} req/s)", r >= goal

    return measure


def _durable(w: Workloads) -> Measured | None:
    d = _point(w, "patterdash", "durability")
    if not d:
        return None
    acked, rows = d["acked_events"], d["rows_after_sigkill"]
    return f"{acked:,} acknowledged, {rows:,} in the log after SIGKILL", rows >= acked


def _p50_vs_patter(w: Workloads) -> Measured | None:
    ours, theirs = _point(w, "patterdash", "pairs_c1"), _point(w, "patter", "pairs_c1")
    if not ours or not theirs:
        return None
    r = ours["p50_ms"] / theirs["p50_ms"]
    return f"{_x(r)} ({ours['p50_ms']:.2f} vs {theirs['p50_ms']:.2f} ms)", r <= 1.2


def _p99(w: Workloads) -> Measured | None:
    ours = _point(w, "patterdash", "pairs_c1")
    return None if not ours else (f"{ours['p99_ms']:.1f} ms", ours["p99_ms"] < 5)


def _vs_raw(point: str, goal: float) -> Callable[[Workloads], Measured | None]:
    def measure(w: Workloads) -> Measured | None:
        ours, raw = _point(w, "patterdash", point), _point(w, "patterdash", f"raw_{point}")
        if not ours or not raw:
            return None
        r = ours["units_per_s"] / raw["units_per_s"]
        return f"{_x(r)} ({ours['units_per_s']:,.0f} vs {raw['units_per_s']:,.0f} events/s)", r >= goal

    return measure


def _append(w: Workloads) -> Measured | None:
    a = w.get("append")
    return None if not a else (_x(a["NORMAL"]["ratio_batch"]), a["NORMAL"]["ratio_batch"] >= 0.5)


def _reads(prefix: str, goal: float) -> Callable[[Workloads], Measured | None]:
    def measure(w: Workloads) -> Measured | None:
        p = w.get("peer_reads")
        if not p or "skipped" in p:
            return None
        worst = min(v for k, v in p["ratios_vs_patter"].items() if k.startswith(prefix))
        return _x(worst), worst >= goal

    return measure


def _startup(w: Workloads) -> Measured | None:
    s = w.get("startup")
    if not s:
        return None
    largest, smallest = max(s["sizes"], key=int), min(s["sizes"], key=int)
    r = min(s["sizes"][largest]["ready_s"]) / min(s["sizes"][smallest]["ready_s"])  # best runs, older JSON too
    return f"{_x(r)} ({int(largest):,} vs 10,000 events)", r <= 1.5


def _sse(w: Workloads) -> Measured | None:
    pt = (w.get("sse") or {}).get("points", {}).get("patterdash_1000subs_20eps")
    if not pt:
        return None
    p99 = pt["ack_to_receipt_ms"]["p99"]
    text = f"{p99:.1f} ms (send -> receipt p99 {pt['send_to_receipt_ms']['p99']:.0f} ms)"
    if not pt["kept_up"]:  # say why the status is missed when the p99 alone is met
        text += (
            f"; not kept up: {pt['achieved_rate']} of {pt['target_rate']} ev/s sent, "
            f"{pt['delivered']:,} of {pt['expected_deliveries']:,} delivered, {pt['dropped_subscribers']} dropped"
        )
    return text, p99 < 50 and pt["kept_up"]


def _sse_rate(w: Workloads) -> Measured | None:
    r = (w.get("sse") or {}).get("max_rate_ratio", {}).get("1000subs")
    return None if r is None else (_x(r), r >= 10)


def _rss_growth(w: Workloads) -> Measured | None:
    m = w.get("memory")
    if not m:
        return None
    r = m.get("ratio_last_vs_first_growth", m["ratio_last_vs_ring_full"])
    g = m["patterdash"]["growth"]
    return f"{_x(r)} ({g[0]['events']:,} -> {g[-1]['events']:,} events appended live)", r <= 1.1


def _rss_startup(w: Workloads) -> Measured | None:
    s = w.get("startup")
    if not s:
        return None
    sizes = sorted(s["sizes"], key=int)
    r = s["sizes"][sizes[-1]]["rss_kb"] / s["sizes"][sizes[0]]["rss_kb"]
    return f"{_x(r)} ({int(sizes[-1]):,} vs 10,000 events)", r <= 1.25


def _vs_bare_worst(w: Workloads) -> Measured | None:
    ratios = (w.get("ingest") or {}).get("ratios", {})
    single = [v["vs_bare"] for k, v in ratios.items() if k.startswith("pairs_") and "vs_bare" in v]
    return None if not single else (f"{_x(min(single))} (worst of c=1/8/64)", min(single) >= 0.6)


def _batch_eps(w: Workloads) -> Measured | None:
    ours = _point(w, "patterdash", "batch100_c8")
    return None if not ours else (f"{ours['units_per_s']:,.0f} events/s", ours["units_per_s"] >= 50_000)


def _vs_patter_worst(w: Workloads) -> Measured | None:
    ratios = (w.get("ingest") or {}).get("ratios", {})
    peer = [v["vs_patter"] for v in ratios.values() if "vs_patter" in v]
    return None if not peer else (f"{_x(min(peer))} (worst of c=1/8/64)", min(peer) >= 2)


TARGETS = [
    Target("Ingest vs Patter 0.7.0 (in memory), start+end pairs, c=1", ">= 1.0x", _vs_patter(1, 1.0)),
    Target("Ingest vs Patter 0.7.0, start+end pairs, c=8", ">= 1.5x", _vs_patter(8, 1.5)),
    Target("Ingest vs Patter 0.7.0, start+end pairs, c=64", ">= 1.5x", _vs_patter(64, 1.5)),
    Target("Every event durable when acknowledged (all ingest runs)", "all", _durable),
    Target("Single-event ack latency p50 at c=1 vs Patter's p50", "<= 1.2x", _p50_vs_patter),
    Target("Single-event ack latency p99 at c=1", "< 5 ms", _p99),
    Target(
        "/api/events, whole calls x100 per request (c=8) vs raw executemany of the same rows",
        ">= 0.3x",
        _vs_raw("batch100_c8", 0.3),
    ),
    Target(
        "/api/events, transcript lines x100 per request (c=8) vs raw executemany of the same rows",
        ">= 0.5x",
        _vs_raw("lines100_c8", 0.5),
    ),
    Target("GET calls?limit=50 vs Patter (worst of c=1/8/64)", ">= 10x", _reads("calls_", 10)),
    Target("GET aggregates vs Patter (worst of c=1/8/64)", ">= 5x", _reads("aggregates", 5)),
    Target("Start-up, largest log vs 10k-event log (1M in full mode)", "<= 1.5x", _startup),
    Target("SSE p99 POST-ack -> receipt, 1,000 subscribers at 20 events/s", "< 50 ms", _sse),
    Target("SSE sustainable rate vs Patter, 1,000 subscribers", ">= 10x", _sse_rate),
    Target("RSS as the log grows", "flat (<= 1.1x)", _rss_growth),
    Target("RSS after start-up, largest vs 10k-event log", "flat (<= 1.25x)", _rss_startup),
    Target("Log append (Service.append vs raw executemany, batches of 100)", ">= 0.5x", _append),
]

RETIRED = [  # issue 16 retired these; kept as context
    Target("HTTP ingest, one event per request vs a bare aiohttp handler", ">= 0.6x (retired)", _vs_bare_worst),
    Target("HTTP ingest, /api/events batches of 100", ">= 50,000 events/s (retired)", _batch_eps),
    Target("Ingest vs Patter, start+end pairs", ">= 2x (retired)", _vs_patter_worst),
]


def _status(measured: Measured | None) -> str:
    if measured is None or measured[1] is None:
        return "n/a"
    return "met" if measured[1] else "**missed**"


def _baseline() -> tuple[str, Workloads] | None:
    if not BASELINE.exists():
        return None
    data = json.loads(BASELINE.read_text())
    label = f"before ({data.get('machine', {}).get('commit') or BASELINE.stem.rpartition('-')[2]}, {data.get('mode')})"
    return label, {k: v for k, v in data["workloads"].items() if "error" not in v}


def _before(w: Workloads) -> tuple[str, Workloads, str] | None:
    """The before column: an older commit's server of this same run for ingest (``--before``), else the baseline."""
    base = _baseline()
    ingest = w.get("ingest") or {}
    same = ingest.get("results", {}).get("before")
    if not same:
        return None if base is None else (*base, "")
    view = {**(base[1] if base else {}), "ingest": {"results": {**ingest["results"], "patterdash": same}}}
    note = (
        f"Before: the ingest rows are commit {ingest['before']}'s server, run in this same run interleaved with "
        f"today's (same Patter, same load)"
        + (f"; the other rows come from `bench/results/{BASELINE.name}`." if base else ".")
    )
    return f"before ({ingest['before']})", view, note


def before_note(w: Workloads) -> str:
    """Where the before column's figures come from (empty when there is one source, or none)."""
    before = _before(w)
    return before[2] if before else ""


def table(w: Workloads, targets: list[Target] = TARGETS, *, now: str = "now") -> str:
    """The markdown table of ``targets``: goal, the before figure beside this run's, status."""
    w = {k: v for k, v in w.items() if "error" not in v}  # a failed workload's targets read n/a
    before = _before(w)
    header = ["target", "goal", *([before[0]] if before else []), now, "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for t in targets:
        measured = t.measure(w)
        cells = [t.name, t.goal]
        if before:
            old = t.measure(before[1])
            cells.append("n/a" if old is None else old[0])
        cells += ["n/a" if measured is None else measured[0], _status(measured)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
