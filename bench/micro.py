"""In-process costs of the ingest hot path, per event (``python -m bench.micro``).

Run it once against the current tree and once with ``PYTHONPATH`` pointing at an
older checkout (``git archive REV patterdash | tar -x -C DIR``) to get an
optimisation's before/after on exactly the same inputs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.payloads import call_end_payload, call_start_payload, native_call_events


def _best_us(fn: Callable[[], Any], n: int, *, per: int = 1, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n / per * 1e6)
    return round(best, 2)


async def _service_eps(batch: list[dict[str, Any]], batches: int, producers: int) -> float:
    from patterdash.service import Service
    from patterdash.settings import Settings

    with tempfile.TemporaryDirectory() as d:
        service = Service(Settings(_env_file=None, db=str(Path(d) / "m.db")))  # type: ignore[call-arg]
        await service.start()
        work = iter(range(batches))

        async def producer() -> None:
            for k in work:
                await service.append([{**e, "id": f"{k}:{e['id']}"} for e in batch])

        t = time.perf_counter()
        await asyncio.gather(*(producer() for _ in range(producers)))
        elapsed = time.perf_counter() - t
        await service.stop()
    return round(batches * len(batch) / elapsed)


def _read_1000_ms(*, busy: bool) -> float:
    """EventLog.read_after of 1,000 events, alone or beside a busy Python thread (the event loop)."""
    import threading

    from patterdash.core.events import validate_event
    from patterdash.store.sqlite import EventLog

    with tempfile.TemporaryDirectory() as d:
        log = EventLog(Path(d) / "r.db")
        batch = [validate_event(e, now=0.0) for e in native_call_events("r")]
        for k in range(32):
            log.append([[{**e, "id": f"{k}:{e['id']}"} for e in batch]], known_seq=log.max_seq())
        stop = threading.Event()

        def spin() -> None:
            while not stop.is_set():
                sum(range(1000))

        thread = threading.Thread(target=spin)
        if busy:
            thread.start()
        started = time.perf_counter()
        log.read_after(0, limit=1000)
        elapsed = time.perf_counter() - started
        stop.set()
        if busy:
            thread.join()
        log.close()
    return round(elapsed * 1000, 1)


def measure() -> dict[str, Any]:
    """Per-event microseconds of each stage, and Service.append events/s."""
    from patterdash.core.events import validate_event
    from patterdash.sources.ingest import events_from_body, parse_json, patter_body, patter_event

    events = [e for i in range(4) for e in native_call_events(f"m{i}")][:100]
    body = orjson.dumps(events)
    end, start = call_end_payload("m"), call_start_payload("m")
    end_body, start_body = orjson.dumps(end), orjson.dumps(start)
    now = time.time()
    validated = events_from_body(body, "application/json", now=now)
    return {
        "parse_json_batch100_us_per_event": _best_us(lambda: parse_json(body), 50, per=100),
        "events_from_body_batch100_us_per_event": _best_us(
            lambda: events_from_body(body, "application/json", now=now), 20, per=100
        ),
        "patter_call_end_us": _best_us(lambda: patter_event(parse_json(end_body), now=now, from_json=True), 100),
        "patter_call_start_us": _best_us(lambda: patter_event(dict(start), now=now, from_json=True), 500),
        # the HTTP path since the one-pass validators: the raw body in, parsed and validated in one call
        "patter_body_call_end_us": _best_us(lambda: patter_body(end_body, now=now), 100),
        "patter_body_call_start_us": _best_us(lambda: patter_body(start_body, now=now), 500),
        "validate_call_end_us": _best_us(lambda: validate_event(events[31], now=now, from_json=True), 100),
        "validate_call_end_models_us": _best_us(lambda: validate_event(events[31], now=now), 100),
        "service_append_batch100_16prod_eps": asyncio.run(_service_eps(validated, 200, 16)),
        "service_append_single_64prod_eps": asyncio.run(_service_eps(validated[:1], 3000, 64)),
        "read_1000_events_ms": _read_1000_ms(busy=False),
        "read_1000_events_busy_thread_beside_ms": _read_1000_ms(busy=True),
    }


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=1)
    print()
