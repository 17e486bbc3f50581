"""Issue 17.2: bounded memory whatever clients send — the active-call cap (429), a paged
/api/dashboard/active, and one endless call held as a bounded tail. Folds first (no I/O), then
a real ``patterdash serve`` process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from patterdash.core.events import LoggedEvent
from patterdash.core.projection import Projection, fold_call
from tests.reliability_helpers import ServerProcess, call_events, running_server

LINE = "x" * 3000  # the 3 KB transcript lines


def _logged(seq: int, type_: str, data: dict[str, Any], call_id: str = "endless") -> LoggedEvent:
    return LoggedEvent(seq=seq, id=f"e{seq}", type=type_, call_id=call_id, ts=1_700_000_000.0 + seq, data=data)


def _endless(lines: int) -> Iterator[LoggedEvent]:
    yield _logged(1, "call_start", {"caller": "+15550001111"})
    for n in range(lines):
        yield _logged(n + 2, "transcript_line", {"role": "user", "text": f"{n}:{LINE}", "turnIndex": n})


# -- the fold ---------------------------------------------------------------------------


def test_an_endless_call_holds_a_bounded_tail_and_says_so() -> None:
    proj = Projection(max_lines=100, max_bytes=64 * 1024)
    for ev in _endless(5_000):
        proj.apply(ev)
    state = proj.active["endless"]
    transcript = state.record["transcript"]
    assert len(transcript) <= 100 and state.held_bytes <= 64 * 1024
    assert len(orjson.dumps(state.record)) < 80 * 1024
    assert transcript[-1]["text"].startswith("4999:")  # the newest kept
    assert state.record["transcript_truncated"] is True


def test_turns_and_call_events_are_capped_too() -> None:
    proj = Projection(max_lines=50, max_bytes=1 << 30)
    proj.apply(_logged(1, "call_start", {}))
    for n in range(300):
        turn = {"turn_index": n, "user_text": "q", "agent_text": "a", "latency": {"total_ms": 1.0}}
        proj.apply(_logged(2 * n + 2, "turn_complete", {"turn": turn}))
        proj.apply(_logged(2 * n + 3, "call_event", {"kind": "tool", "name": "t", "detail": {"n": n}}))
    record = proj.active["endless"].record
    assert len(record["turns"]) == 50 and len(record["events"]) == 50 and len(record["transcript"]) == 50
    assert record["turns"][-1]["turn_index"] == 299 and record["transcript_truncated"] is True


def test_a_small_call_is_untouched_and_a_status_cannot_claim_truncation() -> None:
    bounded, unbounded = Projection(max_lines=100, max_bytes=64 * 1024), Projection()
    events = [*list(_endless(20)), _logged(50, "call_status", {"status": "in-progress", "transcript_truncated": True})]
    for ev in events:
        bounded.apply(ev)
        unbounded.apply(ev)
    assert bounded.snapshot() == unbounded.snapshot()
    assert "transcript_truncated" not in bounded.active["endless"].record


def test_fold_call_for_a_call_outside_the_ring_uses_the_same_caps() -> None:
    record = fold_call(_endless(1_000), max_lines=100, max_bytes=64 * 1024)
    assert record is not None and len(record["transcript"]) <= 100 and record["transcript_truncated"]
    assert len(fold_call(_endless(1_000)) or {}) and len((fold_call(_endless(1_000)) or {})["transcript"]) == 1_000


# -- a real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PATTERDASH_MAX_CALL_LINES": "100", "PATTERDASH_MAX_CALL_BYTES": "65536"}
    with running_server(
        tmp_path_factory.mktemp("memory") / "patterdash.db", "--max-active-calls", "50", env=env
    ) as server:
        yield server


def _post(server: ServerProcess, events: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{server.base_url}/api/events",
        data=orjson.dumps(events),
        timeout=30,
        headers={"Content-Type": "application/json"},
    )


def _start(call_id: str) -> dict[str, Any]:
    return {"id": f"{call_id}:start", "type": "call_start", "call_id": call_id, "ts": 1_700_000_000.0, "data": {}}


def _metric(server: ServerProcess, name: str) -> float:
    text = requests.get(f"{server.base_url}/metrics", timeout=10).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, text
    return float(match.group(1))


def test_beyond_max_active_calls_a_new_call_is_a_429_and_never_appended(capped: ServerProcess) -> None:
    assert _post(capped, [_start(f"live-{n}") for n in range(45)]).status_code == 200
    seq = capped.health()["seq"]
    resp = _post(capped, [_start(f"live-{n}") for n in range(45, 60)])  # 15 more: 60 > 50
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    body = resp.json()
    assert body["error"] == "too many active calls" and body["detail"]["max_active_calls"] == 50
    assert capped.health()["seq"] == seq  # all or nothing: not one of the 15 appended
    assert _metric(capped, "patterdash_calls_refused_total") == 15
    assert _post(capped, [_start(f"live-{n}") for n in range(45, 50)]).status_code == 200  # exactly 50 fit
    assert _post(capped, [_start("one-too-many")]).status_code == 429
    # events of calls in progress, and whole finished calls, are still taken at the cap
    line = {"type": "transcript_line", "call_id": "live-1", "data": {"role": "user", "text": "hi"}}
    assert _post(capped, [line]).status_code == 200
    assert _post(capped, call_events("whole-1", ts=1_700_000_000.0)).status_code == 200
    # a call that ends frees its place
    end = {"type": "call_status", "call_id": "live-2", "data": {"status": "completed"}}
    assert _post(capped, [end]).status_code == 200
    assert _post(capped, [_start("now-fits")]).status_code == 200
    assert _metric(capped, "patterdash_active_calls") == 50


def test_the_active_list_is_paged_with_a_total(capped: ServerProcess) -> None:
    url = f"{capped.base_url}/api/dashboard/active"
    everything = requests.get(url, timeout=10)
    assert everything.status_code == 200 and isinstance(everything.json(), list)
    total = int(everything.headers["X-Total-Count"])
    assert total == len(everything.json()) >= 40
    pages = [requests.get(url, params={"limit": 7, "offset": o}, timeout=10).json() for o in range(0, total, 7)]
    assert [c["call_id"] for page in pages for c in page] == [c["call_id"] for c in everything.json()]
    clamped = requests.get(url, params={"limit": 5000}, timeout=10)  # Patter's rule: clamped, never a 400
    assert clamped.status_code == 200 and len(clamped.json()) == total


def test_an_endless_call_is_answered_bounded_and_the_log_keeps_every_line(
    capped: ServerProcess, tmp_path: Path
) -> None:
    seq = capped.health()["seq"]
    requests.post(  # end one call first so the endless one has room under the cap of 50
        f"{capped.base_url}/api/events",
        json={"type": "call_status", "call_id": "live-3", "data": {"status": "completed"}},
        timeout=10,
    )
    assert _post(capped, [_start("endless")]).status_code == 200
    for batch in range(10):
        lines = [
            {"type": "transcript_line", "call_id": "endless", "data": {"role": "user", "text": f"{n}:{LINE}"}}
            for n in range(batch * 200, batch * 200 + 200)
        ]
        assert _post(capped, lines).status_code == 200
    resp = requests.get(f"{capped.base_url}/api/dashboard/calls/endless", timeout=10)
    record = resp.json()
    assert len(resp.content) < 100 * 1024, len(resp.content)
    assert record["transcript_truncated"] is True and record["transcript"][-1]["text"].startswith("1999:")
    assert capped.health()["seq"] == seq + 2 + 2000  # the log has every line
