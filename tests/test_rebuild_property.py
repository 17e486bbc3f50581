"""Property: the live state after any appends equals a fresh rebuild from the log."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patterdash.core.events import validate_event
from patterdash.service import Service
from patterdash.settings import Settings
from tests.factories import metrics, turn

CALLS = ["a", "b", "c", "d", "e", "f"]


def _data(type_: str, call_id: str, n: int, ids: list[str]) -> dict[str, Any]:
    if type_ in ("call_initiated", "call_start"):
        return {"caller": f"+1555000{n % 10}", "callee": "+15559999"}
    if type_ == "call_status":
        return {"status": ["ringing", "completed", "busy", "no-answer", "in-progress"][n % 5]}
    if type_ == "transcript_line":
        return {"turnIndex": n % 3, "role": ["user", "assistant"][n % 2], "text": f"line {n}"}
    if type_ == "turn_complete":
        return {"turn": turn(n % 3, user=f"u{n}", agent="[interrupted]" if n % 4 == 0 else f"a{n}", total=100.0 + n)}
    if type_ == "call_end":
        return {"metrics": metrics(call_id, cost=0.01 * (n % 7), duration=float(n % 50), turns=n % 3)}
    if type_ == "call_event":
        return {"kind": "tool_call", "name": f"t{n}"}
    return {"call_ids": ids}


event_spec = st.tuples(
    st.sampled_from(
        [
            "call_initiated",
            "call_start",
            "call_status",
            "transcript_line",
            "turn_complete",
            "call_end",
            "call_event",
            "calls_deleted",
        ]
    ),
    st.sampled_from(CALLS),
    st.integers(0, 1000),
    st.lists(st.sampled_from(CALLS), max_size=3),
)
batches = st.lists(st.lists(event_spec, min_size=1, max_size=6), min_size=1, max_size=12)


async def _run(path: Path, plan: list[list[tuple[str, str, int, list[str]]]]) -> tuple[Any, Any]:
    config = Settings(_env_file=None, db=path, ring_size=2, stale_after=10**6)  # type: ignore[call-arg]
    live = Service(config)
    await live.start()
    for batch in plan:
        events = [
            validate_event({"type": t, "call_id": c, "data": _data(t, c, n, ids), "ts": 1000.0 + n}, now=0)
            for t, c, n, ids in batch
        ]
        await live.append(events)
    live_state = live.projection.snapshot()
    await live.stop()
    fresh = Service(config)
    await fresh.start()
    rebuilt = fresh.projection.snapshot()
    await fresh.stop()
    return live_state, rebuilt


@example(plan=[[("call_end", c, i, []) for i, c in enumerate(CALLS)], [("calls_deleted", "*", 0, ["f", "e"])]])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=batches)
def test_live_state_equals_fresh_rebuild(plan: list[list[tuple[str, str, int, list[str]]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        live_state, rebuilt = asyncio.run(_run(Path(tmp) / "log.db", plan))
    assert live_state == rebuilt
