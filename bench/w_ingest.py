"""HTTP ingest: start+end pairs vs the Patter peer, batches vs raw ``sqlite3`` executemany of the same rows.

Per round (interleaved, A B C A B C): the bare aiohttp ceiling, patterdash and Patter take the
same request streams; then patterdash is killed (SIGKILL), its log is checked against what was
acknowledged, and the rows it stored for each batch stream are inserted again, raw, into a fresh
file with the same ``events`` schema, 100 rows per transaction: the physical floor of that work.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    Server,
    closed_run,
    export_tree,
    peer_available,
    start_bare,
    start_patter,
    start_patterdash,
    tmpdir,
)

__all__ = ["ingest", "raw_executemany"]

CONCURRENCY = (1, 8, 64)
BATCH = 100
# /api/events streams, 100 events per request at c=8: whole calls, and transcript lines only
STREAMS: dict[str, dict[str, Any]] = {
    "batch100_c8": {"kind": "batch", "tag": "b"},
    "lines100_c8": {"kind": "batch", "tag": "l", "types": ["transcript_line"]},
}


def raw_executemany(source: Path, id_prefix: str, target: Path, *, batch: int = BATCH) -> dict[str, Any]:
    """Insert again the rows ``source`` holds for ids starting ``id_prefix``: executemany, WAL, one txn per batch.

    The schema (the ``events`` table and its indexes, the page size) is copied from ``source``,
    so the floor moves with the store's own schema. Best of three fresh files.
    """
    src = sqlite3.connect(source)
    try:
        page_size = src.execute("PRAGMA page_size").fetchone()[0]
        ddl = [
            sql
            for (sql,) in src.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL"
                " AND type IN ('table', 'index') ORDER BY type = 'index'"  # the table before its indexes
            )
        ]
        cur = src.execute("SELECT * FROM events WHERE substr(id, 1, ?) = ? ORDER BY seq", (len(id_prefix), id_prefix))
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        src.close()
    insert = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    best = float("inf")
    for attempt in range(3):
        path = target.with_name(f"{target.name}-{attempt}")
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # patterdash's default
        for sql in ddl:
            conn.execute(sql)
        started = time.perf_counter()
        for k in range(0, len(rows), batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows[k : k + batch])
            conn.execute("COMMIT")
        best = min(best, time.perf_counter() - started)
        conn.close()
    return {"events": len(rows), "seconds": round(best, 4), "units_per_s": round(len(rows) / best, 1) if rows else 0.0}


def _durability(server: Server, acked: int) -> dict[str, int]:
    """Kill the server (SIGKILL) and count the log's rows against the events it acknowledged."""
    server.kill()
    conn = sqlite3.connect(server.extra["db"])
    try:
        rows = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()
    return {"acked_events": acked, "rows_after_sigkill": rows}


def _runs(duration: float, warmup: float, d: Path) -> Callable[[str, Server, int], dict[str, dict[str, Any]]]:
    """The points each server runs in one round (patterdash also: durability check, raw floors)."""

    def runs(name: str, server: Server, r: int) -> dict[str, dict[str, Any]]:
        out = {}
        for c in CONCURRENCY:
            spec = {"kind": "pairs", "prefix": f"r{r}c{c}", "concurrency": c, "warmup": warmup}
            out[f"pairs_c{c}"] = closed_run(server, duration, **spec)
        if name == "patter":  # the peer has no batch route
            return out
        for point, stream in STREAMS.items():
            spec = {k: v for k, v in stream.items() if k != "tag"}
            prefix = f"r{r}{stream['tag']}"
            spec.update(prefix=prefix, batch=BATCH, events_per_request=BATCH, concurrency=8, warmup=warmup)
            out[point] = closed_run(server, duration, **spec)
        if name in ("patterdash", "before"):
            acked = sum(v["acked_events"] for v in out.values())
            out["durability"] = _durability(server, acked)
            for point, stream in STREAMS.items():
                raw = raw_executemany(server.extra["db"], f"r{r}{stream['tag']}-", d / f"raw-{name}-{r}-{point}.db")
                out[f"raw_{point}"] = {**raw, "rps": round(raw["units_per_s"] / BATCH, 1)}
        return out

    return runs


def _best(
    starters: dict[str, Callable[[], Server]],
    runs: Callable[[str, Server, int], dict[str, dict[str, Any]]],
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """Every server ``rounds`` times, interleaved; each point keeps its best round (by req/s)."""
    best: dict[str, dict[str, Any]] = {name: {} for name in starters}
    for r in range(rounds):
        for name, start in starters.items():
            with start() as server:
                for point, result in runs(name, server, r).items():
                    shown = f"{result.get('rps')} req/s" if "rps" in result else result
                    print(f"[bench]   {name} {point}: {shown}", file=sys.stderr, flush=True)
                    old = best[name].get(point)
                    if point == "durability":  # every round must hold: keep the worst
                        if old is None or result["rows_after_sigkill"] - result["acked_events"] < 0:
                            best[name][point] = result
                    elif old is None or result.get("rps", 0) > old.get("rps", 0):
                        best[name][point] = result
    return best


def _ratios(best: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = best["patterdash"]
    ratios: dict[str, Any] = {}
    for point, pd in ours.items():
        if "rps" not in pd or point.startswith("raw_"):
            continue
        ratios[point] = {}
        if point in best.get("bare", {}):
            ratios[point]["vs_bare"] = round(pd["rps"] / best["bare"][point]["rps"], 3)
        if point in best.get("patter", {}):
            ratios[point]["vs_patter"] = round(pd["rps"] / best["patter"][point]["rps"], 3)
        if f"raw_{point}" in ours:
            ratios[point]["vs_raw"] = round(pd["units_per_s"] / ours[f"raw_{point}"]["units_per_s"], 3)
    return ratios


def ingest(quick: bool, *, before: str | None = None) -> dict[str, Any]:
    """Patter start+end pairs one request per event (c=1/8/64); /api/events batches of 100 vs raw executemany.

    ``before``: a commit whose server runs too, interleaved (results under ``before``), for a same-run before/after.
    """
    duration, warmup = (1.0, 0.3) if quick else (3.0, 0.5)
    rounds = 1 if quick else 2
    with tmpdir() as d:
        counter = iter(range(10**6))
        starters: dict[str, Callable[[], Server]] = {}
        if not quick:  # the bare handler is context now (its target is retired): full mode only
            starters["bare"] = start_bare
        starters["patterdash"] = lambda: start_patterdash(d / f"ingest-{next(counter)}.db")
        if before:
            tree = export_tree(before, d / "before-tree")
            starters["before"] = lambda: start_patterdash(d / f"ingest-{next(counter)}.db", tree=tree)
        if peer_available():
            starters["patter"] = start_patter
        best = _best(starters, _runs(duration, warmup, d), rounds)
    out = {"duration_s": duration, "rounds": rounds, "batch": BATCH, "results": best, "ratios": _ratios(best)}
    return out | ({"before": before} if before else {})
