"""A 30-day history query on a big log: rollups vs the naive scan (``python -m bench.history``).

The log (``bench.history_log``: ``--calls`` calls over 30 days, written once through
``Store.append`` so the rollups are exactly the server's, kept in ``--dir`` and reused) is asked,
in the same run, the question the UI's "30d" range asks (``from = now - 30 d``, ``to = now``,
default buckets): with no filter, with a status and a direction filter (rollups), and with an
agent filter (which scans the range's per-call facts). Each question is answered by the route's
own function, the runs interleaved; then the naive answers (``bench.history_naive``: one SQL pass
over the log's call_end events, and the Python fold of every call, timed on a uniform sample),
checked equal to the rollups' (totals and every series point); then the whole request over HTTP
against a real ``patterdash serve`` on the log.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import percentiles
from bench.history_http import http_runs
from bench.history_log import DAY, T0, built_log
from bench.history_naive import python_fold, sql_scan
from patterdash.core.history import Window, window
from patterdash.store import Store, open_store
from patterdash.web.history import Filters, history_answer

NOW = T0 + 30 * DAY + 1_234.5  # "now" for the 30d range: 20 minutes after the log's last call
QUESTIONS = {
    "none": Filters(None, None, None, None, None),
    "status=failed": Filters(["failed"], None, None, None, None),
    "direction=inbound": Filters(None, "inbound", None, None, None),
    "agent=sales": Filters(None, None, "sales", None, None),
}
_SCANS = ("agent=sales",)  # answered from the facts, not the rollups: seconds, so fewer runs


def _ms(samples: list[float]) -> dict[str, Any]:
    p = percentiles([s * 1000 for s in samples], (50, 99))
    return {"runs": len(samples), "p50_ms": round(p["p50"], 2), "p99_ms": round(p["p99"], 2)}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def _cpu_ms(fn: Callable[[], Any]) -> float:
    """CPU milliseconds of this thread in ``fn``: the cost without the shared box's waits."""
    started = time.thread_time()
    fn()
    return (time.thread_time() - started) * 1000


def rollup_runs(store: Store, win: Window, runs: int, scan_runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rollup questions ``runs`` times each, interleaved after one untimed warm-up each, then the
    scans ``scan_runs`` times (after, so their reads of the whole facts table do not sit among the
    rollup runs); timings and the last answers."""
    samples: dict[str, list[float]] = {q: [] for q in QUESTIONS}
    keyed = {name: f for name, f in QUESTIONS.items() if name not in _SCANS}
    answers: dict[str, Any] = {name: history_answer(store, win, f) for name, f in keyed.items()}
    for _ in range(runs):
        for name, f in keyed.items():
            took, answers[name] = _timed(lambda f=f: history_answer(store, win, f))  # type: ignore[misc]
            samples[name].append(took)
    cpu = sorted(_cpu_ms(lambda: history_answer(store, win, QUESTIONS["none"])) for _ in range(min(runs, 50)))
    for _ in range(scan_runs):
        for name in _SCANS:
            took, answers[name] = _timed(lambda name=name: history_answer(store, win, QUESTIONS[name]))  # type: ignore[misc]
            samples[name].append(took)
    out = {name: {**_ms(s), "source": answers[name]["source"]} for name, s in samples.items()}
    out["none"]["cpu_p50_ms"] = round(cpu[len(cpu) // 2], 2)
    return out, answers


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["totals"] == b["totals"], "totals differ"
    assert a["series"] == b["series"], "series differ"


def measure(folder: Path, calls: int, *, turns: int, runs: int, scan_runs: int, fold_every: int) -> dict[str, Any]:
    """Build or reuse the log, then time every answer to the 30-day question in this run."""
    path, info = built_log(folder, calls, turns)
    win = window(NOW - 30 * DAY, NOW, None)
    load = [round(x, 1) for x in os.getloadavg()]
    store = open_store(path, create=False)
    try:
        rollups, answers = rollup_runs(store, win, runs, scan_runs)
    finally:
        store.close()
    http = http_runs(path, win, runs, answers["none"])
    os.nice(10)  # the naive answers take minutes of CPU on a shared box: below the others from here
    store = open_store(path, create=False)
    try:
        sql_s, scanned = _timed(lambda: sql_scan(path, win))
        _same(answers["none"], scanned)
        fold_s, (_, folded) = _timed(lambda: python_fold(store, win, fold_every))
    finally:
        store.close()
    p50, points = rollups["none"]["p50_ms"], len(answers["none"]["series"])
    return {
        **info,
        "query": f"from={win.lo}&to={win.hi} (30 days to 'now'), {win.bucket} s buckets, {points} points",
        "answer_calls": answers["none"]["totals"]["calls"],
        "load_average_at_start": load,
        "rollups": rollups,
        "http_no_filter": http,
        "naive_sql_scan": {
            "ms": round(sql_s * 1000),
            "same_answer": True,
            "ratio_to_rollups_p50": round(sql_s * 1000 / p50),
        },
        "naive_python_fold": {
            "sample_every": fold_every,
            "calls_folded": folded,
            "sample_ms": round(fold_s * 1000),
            "extrapolated_ms": round(fold_s * 1000 * calls / max(folded, 1)),
            "ratio_to_p50": round(fold_s * 1000 * calls / max(folded, 1) / p50),
        },
    }


def main() -> None:
    """Run the bench and print (and with ``--out``, write) its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--turns", type=int, default=4, help="turns per call (the log's payload size)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/hist1m"), help="where the log is kept and reused")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--scan-runs", type=int, default=5, help="runs of the agent filter (a scan of facts)")
    parser.add_argument("--fold-every", type=int, default=100, help="fold every Nth call for the Python naive time")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    result = measure(
        args.dir, args.calls, turns=args.turns, runs=args.runs, scan_runs=args.scan_runs, fold_every=args.fold_every
    )
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
