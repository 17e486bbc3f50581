"""What the rollups cost the append hot path (``python -m bench.rollups_append``).

Single-event appends (one event per transaction, the worst case for per-commit overhead) of
whole calls (32 events: start, 20 lines, 10 turns, call_end), per event and for the call_end
alone. Run once on this tree and once with ``PYTHONPATH`` at an older checkout
(``git archive REV patterdash | tar -x -C DIR``) for a same-run before/after.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.payloads import native_call_events


def measure(calls: int = 60, rounds: int = 3) -> dict[str, Any]:
    """Median microseconds per single-event append: all events, and call_end events."""
    import patterdash
    from patterdash.core.events import validate_event
    from patterdash.store import open_store

    every: list[float] = []
    ends: list[float] = []
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            log = open_store(Path(d) / "a.db")
            for c in range(calls):
                for raw in native_call_events(f"r{r}c{c}", seed=c, ts=1_700_000_000.0 + c * 60):
                    ev = validate_event(raw, now=0.0)
                    t = time.perf_counter()
                    log.append([[ev]], known_seq=log.max_seq())
                    took = (time.perf_counter() - t) * 1e6
                    every.append(took)
                    if ev["type"] == "call_end":
                        ends.append(took)
            log.close()
    return {
        "code": str(Path(patterdash.__file__).parent),
        "append_single_event_median_us": round(statistics.median(every), 1),
        "append_single_event_mean_us": round(statistics.fmean(every), 1),
        "append_call_end_median_us": round(statistics.median(ends), 1),
        "events": len(every),
    }


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=1)
    print()
