"""Render ``bench/results/latest.json`` (+ ``bench/results/optimisations.json``) into ``docs/performance.md``.

The narrative lives in ``bench/narrative.md`` (hand-written); every number comes from the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import targets

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
NARRATIVE = Path(__file__).resolve().parent / "narrative.md"
OPTIMISATIONS = Path(__file__).resolve().parent / "results" / "optimisations.json"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _n(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _section_append(a: dict[str, Any]) -> str:
    rows = []
    for sync in ("NORMAL", "FULL"):
        if sync not in a:  # quick mode: NORMAL only
            continue
        v = a[sync]
        rows.append(
            [
                sync,
                _n(v["raw_batch100_eps"]),
                _n(v["service_batch100_16prod_eps"]),
                _x(v["ratio_batch"]),
                _n(v["raw_single_txn_eps"]),
                _n(v["service_single_64prod_eps"]),
            ]
        )
    return (
        f"{a['events']:,} realistic native events (whole calls) per run; "
        f"single-event runs use {a['single_events']:,}.\n\n"
        + _table(
            [
                "synchronous",
                "raw executemany, 100/txn (ev/s)",
                "Service.append, 16 producers x 100 (ev/s)",
                "ratio",
                "raw, 1 event/txn (ev/s)",
                "Service.append, 64 producers x 1 (ev/s)",
            ],
            rows,
        )
        + (
            f"\n\nFULL costs {100 * (1 - a['full_cost']):.0f}% of NORMAL's service throughput here "
            "(group commit amortises the extra fsync). "
            if "full_cost" in a
            else "\n\n"
        )
        + "Raw single-event transactions show what one fsync per event would cost."
    )


_INGEST_POINTS = {
    "pairs_c1": "start+end pairs, c=1",
    "pairs_c8": "start+end pairs, c=8",
    "pairs_c64": "start+end pairs, c=64",
    "batch100_c8": "/api/events, whole calls x100, c=8",
    "lines100_c8": "/api/events, transcript lines x100, c=8",
}


def _ingest_cell(v: dict[str, Any] | None, batch: bool) -> str:
    if v is None:
        return "-"
    unit = f" ({_n(v['units_per_s'])} ev/s)" if batch else ""
    cpu = v.get("server_cpu_us_per_request")
    cpu_s = f", {_n(cpu)} us CPU/req" if cpu is not None else ""
    return f"{_n(v['rps'])} req/s{unit}, p50 {v['p50_ms']:.1f} / p99 {v['p99_ms']:.1f} ms{cpu_s}"


def _section_ingest(i: dict[str, Any]) -> str:
    res = i["results"]
    servers = {"bare": "bare aiohttp (context)", "patterdash": "patterdash"}
    if "before" in res:
        servers["before"] = f"patterdash at {i['before']} (same run)"
    servers["patter"] = "Patter 0.7.0"
    rows = []
    for point, label in _INGEST_POINTS.items():
        if point not in res.get("patterdash", {}):
            continue
        batch = not point.startswith("pairs_")
        cells = [label] + [_ingest_cell(res.get(name, {}).get(point), batch) for name in servers]
        raw = res["patterdash"].get(f"raw_{point}")
        cells.append(f"{_n(raw['units_per_s'])} ev/s ({_n(raw['events'])} rows)" if raw else "-")
        r = i["ratios"][point]
        cells += [_x(r.get("vs_patter")), _x(r.get("vs_raw")), _x(r.get("vs_bare"))]
        rows.append(cells)
    header = ["workload", *servers.values(), "raw executemany of the same rows, 100/txn"]
    table = _table([*header, "pd / Patter", "pd / raw", "pd / bare"], rows)
    for name in ("patterdash", "before"):
        d = res.get(name, {}).get("durability")
        if d:
            table += (
                f"\n\nDurability ({servers[name]}): {d['acked_events']:,} events acknowledged over these runs; "
                f"after SIGKILL the log held {d['rows_after_sigkill']:,} rows."
            )
    return table


def _point_order(point: str) -> tuple[str, int]:
    """``calls_limit50_c8`` sorts by route, then concurrency as a number."""
    route, _, c = point.rpartition("_c")
    return (route, int(c) if c.isdigit() else 0)


def _section_reads(p: dict[str, Any]) -> str:
    res = p["results"]
    rows = []
    for point in sorted(res["patterdash"], key=_point_order):
        ours = res["patterdash"][point]
        theirs = res["patter"].get(point)
        cpu_ratio = None
        if theirs and ours.get("server_cpu_us_per_request"):
            cpu_ratio = theirs["server_cpu_us_per_request"] / ours["server_cpu_us_per_request"]
        rows.append(
            [
                point,
                f"{_n(ours['rps'])} req/s, p99 {ours['p99_ms']:.1f} ms, "
                f"{_n(ours.get('server_cpu_us_per_request'))} us CPU",
                f"{_n(theirs['rps'])} req/s, p99 {theirs['p99_ms']:.1f} ms, "
                f"{_n(theirs.get('server_cpu_us_per_request'))} us CPU"
                if theirs
                else "-",
                _x(p["ratios_vs_patter"].get(point)),
                _x(cpu_ratio),
            ]
        )
    return _table(["route, concurrency", "patterdash", "Patter 0.7.0", "req/s ratio", "CPU/request ratio"], rows)


def _section_startup(s: dict[str, Any]) -> str:
    rows = [
        [
            f"{int(k):,}",
            _n(v["log_bytes"] / 1e6, 1),
            f"{v.get('ready_s_best', v['ready_s_median']):.3f}",
            ", ".join(f"{x:.3f}" for x in v["ready_s"]),
            _n(v["rss_kb"] / 1024, 1),
        ]
        for k, v in s["sizes"].items()
    ]
    return _table(["events in log", "log MB", "best s to /healthz", "runs (s)", "RSS MiB"], rows)


def _section_rul(r: dict[str, Any]) -> str:
    rows = []
    for label in r["idle"]:
        i, ld = r["idle"][label], r["loaded"][label]
        rows.append(
            [
                label,
                f"{i['p50_ms']:.1f} / {i['p99_ms']:.1f}",
                f"{ld['p50_ms']:.1f} / {ld['p99_ms']:.1f}",
                _x(r["p99_ratio_loaded_vs_idle"][label]),
            ]
        )
    ing = r["ingest"]
    return (
        _table(["route", "idle p50 / p99 ms", "under ingest p50 / p99 ms", "p99 loaded / idle"], rows)
        + f"\n\nIngest achieved {_n(ing['events_per_s'])} events/s ({ing['errors']} errors, "
        f"request p99 {ing['p99_ms']:.1f} ms); reads paced at {r['read_rate']} req/s."
    )


def _section_sse(e: dict[str, Any]) -> str:
    rows = []
    for key, v in sorted(
        e["points"].items(), key=lambda kv: (kv[0].split("_")[0], kv[1]["subscribers"], kv[1]["target_rate"])
    ):
        rows.append(
            [
                key.split("_")[0],
                _n(v["subscribers"]),
                _n(v["target_rate"]),
                _n(v["achieved_rate"], 1),
                f"{v['ack_to_receipt_ms']['p50']:.1f} / {v['ack_to_receipt_ms']['p99']:.1f}",
                f"{v['send_to_receipt_ms']['p50']:.1f} / {v['send_to_receipt_ms']['p99']:.1f}",
                f"{v['delivered']:,} / {v['expected_deliveries']:,}",
                str(v["dropped_subscribers"]),
                f"{v['server_cpu_per_delivery_us']:.1f}",
                "yes" if v["kept_up"] else "no",
            ]
        )
    table = _table(
        [
            "server",
            "subscribers",
            "target ev/s",
            "sent ev/s",
            "ack->receipt p50 / p99 ms",
            "send->receipt p50 / p99 ms",
            "delivered",
            "dropped subs",
            "server CPU us/delivery",
            "kept up",
        ],
        rows,
    )
    if "max_rate_ratio" not in e:  # quick mode: no ramps
        return table
    maxes = ", ".join(f"{k}: {v} ev/s" for k, v in e["max_rate"].items())
    return (
        table + f"\n\nHighest rate kept up with (every event to every subscriber, none dropped, p99 <= 1 s): {maxes}."
    )


def _section_memory(m: dict[str, Any]) -> str:
    pd, pt = m["patterdash"], m.get("patter")
    rows = [
        *(
            [["Patter 0.7.0", _n(pt["empty_rss_kb"] / 1024, 1), _n(pt["ring_full_rss_kb"] / 1024, 1), "-"]]
            if pt
            else []
        ),
        [
            "patterdash",
            _n(pd["empty_rss_kb"] / 1024, 1),
            _n(pd["ring_full_rss_kb"] / 1024, 1),
            ", ".join(f"{g['events']:,}: {g['rss_kb'] / 1024:.1f}" for g in pd["growth"]),
        ],
    ]
    return _table(["server", "empty MiB", "ring full (500 x 20 turns) MiB", "after N events appended: MiB"], rows)


def _section_export(x: dict[str, Any]) -> str:
    h, raw = x["http"], x["raw_floor"]
    return (
        _table(
            ["", "calls", "seconds", "calls/s", "peak RSS MiB (growth)"],
            [
                [
                    "HTTP export scope=all CSV",
                    _n(h["rows"]),
                    f"{h['seconds']:.2f}",
                    _n(h["calls_per_s"]),
                    f"{h['peak_rss_kb'] / 1024:.1f} (+{h['peak_growth_kb'] / 1024:.1f})",
                ],
                *(
                    [
                        [
                            "CLI `patterdash export --format csv --output FILE` (no server; incl. interpreter start)",
                            _n(c["rows"]),
                            f"{c['seconds']:.2f}",
                            _n(c["calls_per_s"]),
                            f"{c['peak_rss_kb'] / 1024:.1f}",
                        ]
                    ]
                    if (c := x.get("cli")) and "rows" in c
                    else []
                ),
                [
                    "floor: raw SELECT of call_end rows + csv",
                    _n(x["calls"]),
                    f"{raw['seconds']:.2f}",
                    _n(raw["calls_per_s"]),
                    "-",
                ],
            ],
        )
        + f"\n\nRatio to the floor: {_x(x['ratio_vs_raw'])}."
    )


def _section_store(x: dict[str, Any]) -> str:
    if "skipped" in x:
        return f"Skipped: {x['skipped']}."
    sq, pg = x["append_sqlite"], x["append_postgres"]
    cross = x["cross_node_sse_ms_at_100_per_s"]
    rows = [
        [
            "store append, 16 batches x 100 events per commit (us/event)",
            _n(sq["batched_us_per_event"], 1),
            _n(pg["batched_us_per_event"], 1),
        ],
        [
            "store append, 1 event per commit (us/commit)",
            _n(sq["single_us_per_commit"]),
            f"{_n(pg['single_us_per_commit'])} (one WAL flush per commit)",
        ],
        [
            "HTTP ingest, 8 clients x 100-event batches, one node (events/s)",
            _n(x["ingest_eps_sqlite_one_node"]),
            _n(x["ingest_eps_postgres_one_node"]),
        ],
        [
            "HTTP ingest, same clients spread over two nodes on one log (events/s)",
            "-",
            _n(x["ingest_eps_postgres_two_nodes"]),
        ],
        [
            "cross-node delivery: POST acknowledged on A -> frame on B's SSE, 100 events/s (ms)",
            "-",
            f"p50 {cross['p50']:.1f}, p95 {cross['p95']:.1f}, p99 {cross['p99']:.1f}",
        ],
    ]
    return (
        f"PostgreSQL 15 with its defaults (fsync on), started by tests/pg.py; load average "
        f"{x['load_average_at_start']} at the start of this workload"
        + (
            " (quick: 6 commits, 100 single-event commits, 2 s of ingest, 150 crossings).\n\n"
            if x.get("quick")
            else ".\n\n"
        )
        + _table(["figure", "SQLite", "PostgreSQL"], rows)
    )


def _optimisations() -> str:
    if not OPTIMISATIONS.exists():
        return "_none recorded yet_"
    items = json.loads(OPTIMISATIONS.read_text())
    rows = [[o["commit"], o["change"], o["metric"], str(o["before"]), str(o["after"]), _x(o["ratio"])] for o in items]
    return _table(["commit", "change", "measured", "before", "after", "speed-up"], rows)


SECTIONS = [
    ("append", "Log append", _section_append),
    ("ingest", "HTTP ingest", _section_ingest),
    (
        "peer_reads",
        "Reads with 500 calls held, vs Patter",
        lambda p: p["skipped"] if "skipped" in p else _section_reads(p),
    ),
    ("startup", "Start-up", _section_startup),
    ("reads_under_load", "Reads under ingest load (500 calls x 20 turns held)", _section_rul),
    ("sse", "SSE fan-out", _section_sse),
    ("memory", "Memory", _section_memory),
    ("export", "Export", _section_export),
    ("store", "PostgreSQL backend vs SQLite (bench/w_store.py)", _section_store),
]


def target_tables(results_path: Path) -> str:
    """The target table (and the retired targets, for context) of a results JSON, as markdown."""
    w = json.loads(results_path.read_text())["workloads"]
    note = targets.before_note(w)
    return (
        "## Targets (issue 16)\n\n"
        + targets.table(w)
        + (f"\n\n{note}" if note else "")
        + "\n\nRetired targets, shown for context:\n\n"
        + targets.table(w, targets.RETIRED)
        + "\n"
    )


def render(results_path: Path) -> None:
    """Write docs/performance.md from the results JSON: the target table first."""
    data = json.loads(results_path.read_text())
    w = data["workloads"]
    m = data.get("machine", {})
    parts = [
        "# Performance\n",
        target_tables(results_path),
        "_Generated by `python -m bench render` from `bench/results/latest.json` (the before column from "
        f"`bench/results/{targets.BASELINE.name}`); the prose is `bench/narrative.md`._\n",
        f"Run: `{data.get('command')}` ({data.get('mode')} mode), finished {data.get('finished_at')}, "
        f"{data.get('total_seconds')} s; commit {m.get('commit')}; {m.get('cpu')} x{m.get('cores')}, "
        f"Python {m.get('python')}, "
        f"load average at start {', '.join(f'{x:.1f}' for x in m.get('loadavg_at_start', []))}.\n",
        *(f"Re-run afterwards: `{r['command']}` ({r['finished_at']}).\n" for r in data.get("reruns", [])),
    ]
    if NARRATIVE.exists():
        parts += [NARRATIVE.read_text().strip(), ""]
    parts.append("## Figures\n")
    for key, title, fn in SECTIONS:
        if key in w:
            body = f"Failed: `{w[key]['error']}`" if "error" in w[key] else fn(w[key])
            parts += [f"### {title}\n", body, ""]
    parts += ["## Optimisations (each its own commit)\n", _optimisations(), ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(parts) + "\n")
