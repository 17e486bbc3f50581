"""HTTP workloads: reads vs the Patter peer, reads under load, memory (ingest is in w_ingest)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import (
    Server,
    closed_run,
    collect,
    peer_available,
    rss_kb,
    run_client,
    spawn_client,
    start_patter,
    start_patterdash,
    tmpdir,
)

__all__ = ["memory", "peer_reads", "reads_under_load"]

CONCURRENCY = (1, 8, 64)


def _rounds(
    starters: dict[str, Callable[[], Server]],
    runs: Callable[[str, Server, int], dict[str, dict[str, Any]]],
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """Run every server ``rounds`` times, interleaved (A B C A B C), keeping the best round per point.

    The box is shared and noisy; interleaving spreads the noise over every server
    alike, and the best of the rounds is each server's capacity.
    """
    best: dict[str, dict[str, Any]] = {name: {} for name in starters}
    for r in range(rounds):
        for name, start in starters.items():
            with start() as server:
                for point, result in runs(name, server, r).items():
                    print(f"[bench]   {name} {point}: {result.get('rps')} req/s", file=sys.stderr, flush=True)
                    old = best[name].get(point)
                    if old is None or result.get("rps", 0) > old.get("rps", 0):
                        best[name][point] = result
    return best


def _load_pairs(server: Server, calls: int, turns: int = 10) -> None:
    """Hold ``calls`` completed calls (Patter start+end pairs) in the server."""
    spec = {"mode": "closed", "url": server.url, "duration": 600, "kind": "pairs", "prefix": "held", "concurrency": 4}
    spec.update({"stop_after_units": calls, "turns": turns, "warmup": 0})
    run_client(spec)


def peer_reads(quick: bool) -> dict[str, Any]:
    """GET calls?limit=50 and aggregates with 500 calls held, c=1/8/64, patterdash vs Patter."""
    if not peer_available():
        return {"skipped": "the Patter peer needs getpatter, fastapi and uvicorn"}
    duration, warmup = (1.0, 0.3) if quick else (3.0, 0.5)
    routes = {
        "calls_limit50": "/api/dashboard/calls?limit=50",
        "aggregates": "/api/dashboard/aggregates",
    }
    with tmpdir() as d:
        starters = {"patterdash": lambda: start_patterdash(d / "reads.db"), "patter": start_patter}

        def runs(name: str, server: Server, r: int) -> dict[str, dict[str, Any]]:
            if r == 0 or name == "patter":  # patterdash keeps its log across rounds; the peer starts empty
                _load_pairs(server, 500)
            out = {}
            for label, path in routes.items():
                for c in CONCURRENCY:
                    spec = {"kind": "get", "paths": [path], "concurrency": c, "warmup": warmup}
                    out[f"{label}_c{c}"] = closed_run(server, duration, **spec)
            if name == "patterdash" and not quick:  # our UI's list view: context, no target
                path = "/api/dashboard/calls?limit=50&view=summary"
                out["calls_summary_view_c8"] = closed_run(server, duration, kind="get", paths=[path], concurrency=8)
            return out

        best = _rounds(starters, runs, 1 if quick else 2)
    ratios = {
        point: round(best["patterdash"][point]["rps"] / max(best["patter"][point]["rps"], 0.1), 3)
        for point in best["patterdash"]
        if point in best["patter"] and not point.startswith("calls_summary")
    }
    return {"duration_s": duration, "results": best, "ratios_vs_patter": ratios}


def reads_under_load(quick: bool) -> dict[str, Any]:
    """p50/p99 of calls, call detail and aggregates with 500 calls x 20 turns held, idle vs ingest at 1,000 events/s."""
    duration, warm = (2.0, 1.0) if quick else (8.0, 2.0)
    read_rate = 60  # requests/s over the three routes: a few dashboards open
    with tmpdir() as d, start_patterdash(d / "rul.db") as server:
        _load_pairs(server, 500, turns=20)
        paths = [
            ["calls", "/api/dashboard/calls?limit=50"],
            ["call_detail", "/api/dashboard/calls/held-7"],
            ["aggregates", "/api/dashboard/aggregates"],
        ]
        reader = {
            "mode": "paced",
            "url": server.url,
            "kind": "get",
            "labelled_paths": paths,
            "rate": read_rate,
            "duration": duration,
        }
        collect(spawn_client({**reader, "duration": warm}))  # warm-up, discarded (first requests, caches, GC)
        idle = collect(spawn_client(reader))
        ingest_spec = {
            "mode": "paced",
            "url": server.url,
            "kind": "batch",
            "prefix": "live",
            "batch": 20,
            "rate": 50,
            "duration": duration + 1,
        }
        ing = spawn_client(ingest_spec)
        time.sleep(0.5)
        loaded = collect(spawn_client(reader))
        ingest_result = collect(ing)
        rss = rss_kb(server.pid)
    out: dict[str, Any] = {
        "duration_s": duration,
        "read_rate": read_rate,
        "idle": idle["by_label"],
        "loaded": loaded["by_label"],
    }
    out["ingest"] = {k: ingest_result[k] for k in ("achieved_rate", "errors", "p50_ms", "p99_ms")}
    out["ingest"]["events_per_s"] = round(ingest_result["achieved_rate"] * 20, 1)
    out["p99_ratio_loaded_vs_idle"] = {
        label: round(loaded["by_label"][label]["p99_ms"] / max(idle["by_label"][label]["p99_ms"], 1e-6), 3)
        for label, _ in paths
    }
    out["rss_kb"] = rss["rss_kb"]
    return out


def memory(quick: bool) -> dict[str, Any]:
    """RSS empty, with the ring full (500 calls x 20 turns), and as the log grows to 1M events."""
    # Live growth through HTTP is bounded by ingest speed on this box; the 1M-event figure comes from
    # the start-up workload (RSS of a server opened on the 1M-event log), shown beside these.
    total = 30_000 if quick else 200_000
    checkpoints = 4
    out: dict[str, Any] = {"target_events": total}
    if peer_available() and not quick:  # Patter's ring beside ours is context; the target is growth
        with start_patter() as peer:
            empty = rss_kb(peer.pid)["rss_kb"]
            _load_pairs(peer, 500, turns=20)
            out["patter"] = {"empty_rss_kb": empty, "ring_full_rss_kb": rss_kb(peer.pid)["rss_kb"]}
    with tmpdir() as d, start_patterdash(d / "mem.db") as server:
        empty = rss_kb(server.pid)["rss_kb"]
        _load_pairs(server, 500, turns=20)
        full = rss_kb(server.pid)["rss_kb"]
        samples = []
        per_request = 1000
        done = 0
        step = (total - 1000) // checkpoints
        for k in range(checkpoints):
            requests = max(1, step // per_request)
            res = run_client(
                {
                    "mode": "closed",
                    "url": server.url,
                    "duration": 900,
                    "warmup": 0,
                    "kind": "batch",
                    "prefix": f"grow{k}",
                    "batch": per_request,
                    "events_per_request": per_request,
                    "concurrency": 4,
                    "stop_after_units": requests,
                }
            )
            done += requests * per_request
            samples.append(
                {"events": done + 1000, "rss_kb": rss_kb(server.pid)["rss_kb"], "events_per_s": res.get("units_per_s")}
            )
        out["patterdash"] = {"empty_rss_kb": empty, "ring_full_rss_kb": full, "growth": samples}
    ours = out["patterdash"]
    if "patter" in out:
        out["ratio_ring_full_vs_patter"] = round(ours["ring_full_rss_kb"] / out["patter"]["ring_full_rss_kb"], 3)
    out["ratio_last_vs_ring_full"] = round(ours["growth"][-1]["rss_kb"] / ours["ring_full_rss_kb"], 3)
    # Once the SSE replay buffer (8,192 frames) has filled, nothing else should grow with the log.
    out["ratio_last_vs_first_growth"] = round(ours["growth"][-1]["rss_kb"] / ours["growth"][0]["rss_kb"], 3)
    return out
