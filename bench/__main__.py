"""``python -m bench [--quick] [--only a,b] [--out FILE]``; ``python -m bench render`` rewrites docs/performance.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import render, w_http, w_ingest, w_log, w_sse, w_store

WORKLOADS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "append": w_log.append,
    "ingest": w_ingest.ingest,
    "peer_reads": w_http.peer_reads,
    "startup": w_log.startup,
    "reads_under_load": w_http.reads_under_load,
    "sse": w_sse.sse,
    "memory": w_http.memory,
    "export": w_log.export,
    "store": w_store.workload,
}
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


def _machine() -> dict[str, Any]:
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "commit": sh("git", "rev-parse", "--short", "HEAD"),
    }


# Quick mode runs what the target table needs; these (no target of their own) run in full mode or with --only.
QUICK_SKIPS = {"reads_under_load", "export", "store"}


def _run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One workload; a failure is recorded and reported, and the other workloads still run."""
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    try:
        if name == "ingest" and args.before:
            return w_ingest.ingest(args.quick, before=args.before)
        return WORKLOADS[name](args.quick)
    except Exception as e:  # any failure: keep the figures of the others
        print(f"[bench] {name} FAILED: {type(e).__name__}: {str(e)[-1500:]}", file=sys.stderr, flush=True)
        return {"error": f"{type(e).__name__}: {str(e)[-1500:]}"}


def _describe(results: dict[str, Any], args: argparse.Namespace, started: float) -> None:
    """Note the run (machine, mode, command), or for a partial re-run, append it to the main run's notes."""
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    command = "python -m bench" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
    command += f" --before {args.before}" if args.before else ""
    if args.only and "command" in results:  # a partial re-run: keep the main run's description, note this one
        results.setdefault("reruns", []).append(
            {"command": command, "finished_at": finished, "seconds": round(time.time() - started, 1)}
        )
    else:
        results["machine"] = _machine()
        results["mode"] = "quick" if args.quick else "full"
        results["command"] = command
        results["finished_at"] = finished
        results["total_seconds"] = round(time.time() - started, 1)


def _write(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "render"])
    parser.add_argument("--quick", action="store_true", help="short runs, smaller logs (under 4 min)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {','.join(WORKLOADS)}")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results JSON (default bench/results/latest.json)"
    )
    parser.add_argument("--no-render", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument(
        "--before", default="", metavar="REV", help="ingest: also serve commit REV, interleaved (before/after)"
    )
    args = parser.parse_args(argv)
    if args.command == "render":
        render.render(args.out)
        print(render.target_tables(args.out))
        return 0
    chosen = [w for w in args.only.split(",") if w] or [w for w in WORKLOADS if not (args.quick and w in QUICK_SKIPS)]
    unknown = set(chosen) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {}
    if args.only and args.out.exists():
        results = json.loads(args.out.read_text())  # a partial run updates the workloads it ran
    results.setdefault("workloads", {})
    started = time.time()
    timings = results.setdefault("seconds", {})
    for name in chosen:
        t = time.perf_counter()
        results["workloads"][name] = _run_one(name, args)
        timings[name] = round(time.perf_counter() - t, 1)
        print(f"[bench] {name} done in {timings[name]} s", file=sys.stderr, flush=True)
        _write(args.out, results)  # as it goes: an interrupted run keeps what it measured
    _describe(results, args, started)
    _write(args.out, results)
    if not args.no_render:
        render.render(args.out)
    print(render.target_tables(args.out))  # first on stdout (progress goes to stderr)
    return 1 if any("error" in results["workloads"][name] for name in chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
