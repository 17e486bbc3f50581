"""What one single-event commit costs and writes (``python -m bench.commit_cost``), issue 16.

Whole calls (start, 20 lines, 10 turns, call_end) appended one event per transaction through
``Store.append``: per event type, the median microseconds and the WAL frames (pages) each commit
adds. Frames are counted from the WAL's size, with automatic checkpoints off so none is lost.
For a same-run before/after, run it alternately from this tree and from an older checkout's
(``git archive REV patterdash bench | tar -x -C DIR``; ``cd DIR && python -m bench.commit_cost``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.payloads import native_call_events

_PAGE_SIZE_AT = 8  # the WAL header's page size field


def _frames(wal: Path) -> int:
    if not wal.exists() or wal.stat().st_size < 32:
        return 0
    with wal.open("rb") as f:
        page_size = int.from_bytes(f.read(32)[_PAGE_SIZE_AT : _PAGE_SIZE_AT + 4], "big")
    return (wal.stat().st_size - 32) // (24 + page_size)


def measure(calls: int = 40, rounds: int = 3) -> dict[str, Any]:
    """Median us and mean WAL frames per single-event commit, by event type and overall (and the
    mean CPU time: thread_time ticks are coarse, so only the mean of many is meaningful)."""
    import patterdash
    from patterdash.core.events import validate_event
    from patterdash.store import open_store

    took: dict[str, list[float]] = defaultdict(list)
    cpu: list[float] = []  # this thread's CPU time per append: steadier than wall time on a shared box
    frames: dict[str, list[int]] = defaultdict(list)
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            log = open_store(Path(d) / "a.db")
            log.db.conn.execute("PRAGMA wal_autocheckpoint = 0")  # type: ignore[attr-defined]
            wal = Path(d) / "a.db-wal"
            for c in range(calls):
                for raw in native_call_events(f"r{r}c{c}", seed=c, ts=1_700_000_000.0 + c * 60):
                    ev = validate_event(raw, now=0.0)
                    before, known = _frames(wal), log.max_seq()
                    t, c0 = time.perf_counter(), time.thread_time()
                    log.append([[ev]], known_seq=known)
                    took[ev["type"]].append((time.perf_counter() - t) * 1e6)
                    cpu.append((time.thread_time() - c0) * 1e6)
                    frames[ev["type"]].append(_frames(wal) - before)
            log.close()
    every = [v for vs in took.values() for v in vs]
    return {
        "code": str(Path(patterdash.__file__).parent),
        "all_median_us": round(statistics.median(every), 1),
        "all_cpu_mean_us": round(statistics.fmean(cpu), 1),
        "all_frames_mean": round(sum(sum(f) for f in frames.values()) / len(every), 2),
        "by_type": {
            t: {"median_us": round(statistics.median(took[t]), 1), "frames_mean": round(statistics.fmean(frames[t]), 2)}
            for t in took
        },
    }


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=1)
    print()
