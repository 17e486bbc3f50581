"""The big log of ``bench.history``: N calls over 30 days, written once through ``Store.append``.

Each call is a call_start and a Patter call_end with ``turns`` turns (4 by default: the rollup
query's cost depends on buckets and histogram bins, not on payload size). Calls are clones of
1,800 validated templates (every status x direction x agent x STT provider, each template with
its own turn latencies, spread log-normally), so each 6-hour bucket holds a realistic spread of
histogram bins. The log is kept in a folder outside the repo and reused: a ``done.json`` beside
it says it is complete; an unfinished one is resumed (appends are idempotent by event id).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.payloads import call_end_payload, call_start_payload
from patterdash.core.events import validate_event
from patterdash.store import open_store

__all__ = ["AGENTS", "DAY", "T0", "built_log"]

DAY = 86_400
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
AGENTS = ("support", "sales", "billing")
_STATUSES = ("completed",) * 6 + ("busy", "no-answer", "failed")
_TEMPLATES = 1_800  # a multiple of 9 statuses x 2 directions x 3 agents x 2 STT providers
_BATCH = 5_000  # events per Store.append (one transaction)


def _scaled(end: dict[str, Any], scale: float) -> None:
    """Stretch a call's turn latencies (and its average) by ``scale``: a wider, realistic spread."""
    turns = end["metrics"]["turns"]
    for turn in turns:
        lat = turn["latency"]
        lat["agent_response_ms"] = round(lat["agent_response_ms"] * scale, 1)
        lat["total_ms"] = round(lat["total_ms"] * scale, 1)
    avg = end["metrics"]["latency_avg"]
    avg["agent_response_ms"] = round(sum(t["latency"]["agent_response_ms"] for t in turns) / len(turns), 1)


def templates(turns: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Validated (start, end) event pairs; calls are cheap clones of them (new ids and times)."""
    rng = random.Random(14)
    out = []
    for seed in range(_TEMPLATES):
        start = call_start_payload("TEMPLATE")
        end = call_end_payload("TEMPLATE", seed=seed, turns=turns)
        end["status"] = _STATUSES[seed % 9]
        start["direction"] = end["direction"] = "outbound" if seed % 2 else "inbound"
        end["metrics"]["agent"] = AGENTS[(seed // 18) % 3]
        if (seed // 54) % 2:
            end["metrics"]["stt_provider"] = "assemblyai"
        _scaled(end, math.exp(rng.gauss(0, 0.45)))
        out.append(
            (
                validate_event({"type": "call_start", "call_id": "TEMPLATE", "data": start, "ts": T0}, now=T0),
                validate_event({"type": "call_end", "call_id": "TEMPLATE", "data": end, "ts": T0 + 60}, now=T0),
            )
        )
    return out


def calls(count: int, turns: int, first: int = 0) -> Iterator[list[dict[str, Any]]]:
    """The events of calls ``first`` .. ``count - 1``, spread evenly over 30 days from T0."""
    pairs = templates(turns)
    step = 30 * DAY / count
    for n in range(first, count):
        start, end = pairs[(n * 7_919) % len(pairs)]  # a prime stride: every template, well mixed
        cid, at = f"c{n:07d}", T0 + n * step
        duration = end["data"]["metrics"]["duration_seconds"]
        end_data = {**end["data"], "started_at": at, "ended_at": at + duration}
        yield [
            {**start, "id": f"{cid}:s", "call_id": cid, "ts": at, "data": {**start["data"], "started_at": at}},
            {**end, "id": f"{cid}:e", "call_id": cid, "ts": at + duration, "data": end_data},
        ]


def _write(path: Path, count: int, turns: int) -> None:
    store = open_store(path)
    try:
        first = store.completed_count()  # resume: calls are appended in order, whole per transaction
        pending: list[dict[str, Any]] = []
        for events in calls(count, turns, first):
            pending += events
            if len(pending) >= _BATCH:
                store.append([pending], known_seq=store.max_seq())
                pending = []
        if pending:
            store.append([pending], known_seq=store.max_seq())
    finally:
        store.close()


def built_log(folder: Path, count: int, turns: int = 4) -> tuple[Path, dict[str, Any]]:
    """The log of ``count`` calls in ``folder`` (built, or resumed, when not done) and its facts."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"history-{count}-t{turns}.db"
    marker = path.with_suffix(".done.json")
    if marker.exists():
        return path, dict(json.loads(marker.read_text()))
    started = time.perf_counter()
    _write(path, count, turns)
    size = sum(p.stat().st_size for p in folder.glob(f"{path.name}*"))
    info: dict[str, Any] = {"calls": count, "events": 2 * count, "turns_per_call": turns, "log_bytes": size}
    info["build_s"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(info))
    return path, info


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/hist1m"))
    args = parser.parse_args()
    print(json.dumps(built_log(args.dir, args.calls, args.turns)[1]))
