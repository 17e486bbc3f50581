"""Fold tests: given events, when applied, then state. No database."""

from __future__ import annotations

from typing import Any

import pytest

from patterdash.core.events import LoggedEvent, validate_event
from patterdash.core.projection import CallState, Projection, entry_size, fold_call
from tests.factories import metrics, turn


class Feed:
    """Validates and numbers events like the log would, then applies them."""

    def __init__(self, ring_size: int = 500) -> None:
        self.proj = Projection(ring_size=ring_size)
        self.seq = 0
        self.completed: dict[str, int] = {}

    def __call__(self, type_: str, call_id: str, data: dict[str, Any] | None = None, ts: float = 100.0) -> None:
        raw = validate_event({"type": type_, "call_id": call_id, "data": data or {}, "ts": ts}, now=ts)
        self.seq += 1
        ev = LoggedEvent(self.seq, raw["id"], raw["type"], raw["call_id"], raw["ts"], raw["data"])
        if call_id not in self.completed and (
            type_ == "call_end" or (type_ == "call_status" and raw["data"]["status"] in {"completed", "busy", "lost"})
        ):
            self.completed[call_id] = self.seq
        self.proj.apply(ev, completed_seq=self.completed.get(call_id))

    def ring(self) -> list[dict[str, Any]]:
        return [s.record for s in self.proj.calls()]


def test_call_start_opens_an_active_call() -> None:
    feed = Feed()
    feed("call_start", "a", {"caller": "+1555", "callee": "+1666"}, ts=10)
    rec = feed.proj.active["a"].record
    assert (rec["status"], rec["direction"], rec["started_at"], rec["caller"]) == (
        "in-progress",
        "inbound",
        10,
        "+1555",
    )


def test_call_initiated_is_outbound_and_call_start_upgrades_it_keeping_numbers() -> None:
    feed = Feed()
    feed("call_initiated", "a", {"caller": "+1555", "callee": "+1666"}, ts=10)
    assert feed.proj.active["a"].record["status"] == "initiated"
    feed("call_start", "a", {"caller": "", "callee": ""}, ts=12)
    rec = feed.proj.active["a"].record
    assert (rec["status"], rec["direction"], rec["caller"], rec["started_at"]) == (
        "in-progress",
        "outbound",
        "+1555",
        10,
    )


def test_call_end_after_terminal_status_updates_row_in_place() -> None:
    feed = Feed()
    feed("call_start", "a", ts=10)
    feed("call_status", "a", {"status": "completed"}, ts=40)
    assert [r["call_id"] for r in feed.ring()] == ["a"] and not feed.proj.active
    feed(
        "call_end", "a", {"metrics": metrics("a", duration=30.0), "transcript": [{"role": "user", "text": "x"}]}, ts=41
    )
    ring = feed.ring()
    assert len(ring) == 1
    assert ring[0]["metrics"]["duration_seconds"] == 30.0
    assert ring[0]["transcript"][0]["text"] == "x"
    assert feed.proj.aggregates.snapshot(active_calls=0)["total_calls"] == 1


def test_call_end_alone_takes_identity_from_payload_and_derives_started_at() -> None:
    feed = Feed()
    data = {
        "caller": "+1555",
        "callee": "+1666",
        "direction": "outbound",
        "ended_at": 1000.0,
        "metrics": metrics("a", duration=25.0),
    }
    feed("call_end", "a", data, ts=2000)
    (rec,) = feed.ring()
    assert (rec["caller"], rec["direction"], rec["ended_at"], rec["started_at"]) == ("+1555", "outbound", 1000.0, 975.0)
    assert rec["status"] == "completed"


def test_call_end_alone_keeps_an_explicit_started_at() -> None:
    feed = Feed()
    feed("call_end", "a", {"started_at": 900.0, "ended_at": 1000.0, "metrics": metrics("a")}, ts=2000)
    assert feed.ring()[0]["started_at"] == 900.0


def test_turn_complete_mirrors_texts_deduplicated_against_transcript_lines() -> None:
    feed = Feed()
    feed("call_start", "a")
    feed("transcript_line", "a", {"turnIndex": 0, "role": "user", "text": "hello"})
    feed("turn_complete", "a", {"turn": turn(0, user="hello", agent="hi there")})
    feed("turn_complete", "a", {"turn": turn(1, user="bye", agent="goodbye")})
    transcript = feed.proj.active["a"].record["transcript"]
    assert [(e["turnIndex"], e["role"], e["text"]) for e in transcript] == [
        (0, "user", "hello"),
        (0, "assistant", "hi there"),
        (1, "user", "bye"),
        (1, "assistant", "goodbye"),
    ]


def test_transcript_line_after_mirrored_turn_is_not_duplicated() -> None:
    feed = Feed()
    feed("call_start", "a")
    feed("turn_complete", "a", {"turn": turn(0, user="hello", agent="hi")})
    feed("transcript_line", "a", {"turnIndex": 0, "role": "assistant", "text": "hi"})
    assert len(feed.proj.active["a"].record["transcript"]) == 2


def test_interrupted_agent_text_is_not_mirrored() -> None:
    feed = Feed()
    feed("call_start", "a")
    feed("turn_complete", "a", {"turn": turn(0, user="wait", agent="[interrupted]")})
    transcript = feed.proj.active["a"].record["transcript"]
    assert [e["role"] for e in transcript] == ["user"]
    assert feed.proj.active["a"].record["turns"][0]["agent_text"] == "[interrupted]"


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_explicit_status_set_during_the_call_survives_call_end(status: str) -> None:
    feed = Feed()
    feed("call_initiated", "a")
    feed("call_status", "a", {"status": status, "sip_code": 486})
    feed("call_end", "a", {"metrics": metrics("a")})
    (rec,) = feed.ring()
    assert rec["status"] == status
    assert rec["sip_code"] == 486
    assert rec["metrics"]["cost"]["total"] == 0.05


def test_call_end_without_metrics_gets_a_duration_shim() -> None:
    feed = Feed()
    feed("call_start", "a", ts=100)
    feed("call_end", "a", {}, ts=160)
    rec = feed.ring()[0]
    assert rec["metrics"]["duration_seconds"] == 60.0 and rec["metrics"]["turns"] == []


def test_ring_keeps_the_newest_calls_and_aggregates_follow_eviction() -> None:
    feed = Feed(ring_size=2)
    for i, cost in enumerate([1.0, 2.0, 4.0]):
        feed("call_end", f"c{i}", {"metrics": metrics(f"c{i}", cost=cost)})
    assert [r["call_id"] for r in feed.ring()] == ["c2", "c1"]
    agg = feed.proj.aggregates.snapshot(active_calls=0)
    assert agg["total_calls"] == 2 and agg["total_cost"] == 6.0


def test_late_event_for_an_evicted_call_changes_nothing() -> None:
    feed = Feed(ring_size=1)
    feed("call_end", "old", {"metrics": metrics("old")})
    feed("call_end", "new", {"metrics": metrics("new")})
    before = feed.proj.snapshot()
    feed("transcript_line", "old", {"role": "user", "text": "late"})
    feed("call_status", "old", {"status": "failed"})
    assert feed.proj.snapshot() == before


def test_deleted_calls_leave_the_ring_and_the_aggregates_but_active_calls_stay() -> None:
    feed = Feed()
    feed("call_end", "done", {"metrics": metrics("done", cost=1.0)})
    feed("call_start", "live")
    feed("calls_deleted", "*", {"call_ids": ["done", "live", "unknown"]})
    assert feed.ring() == [] and "live" in feed.proj.active
    assert feed.proj.aggregates.snapshot(active_calls=1)["total_cost"] == 0.0


def test_aggregates_prefer_agent_response_ms_and_skip_zero_latency_calls() -> None:
    feed = Feed()
    m1 = metrics("a")
    m1["latency_avg"] = {"total_ms": 900.0, "agent_response_ms": 500.0}
    m2 = metrics("b")
    m2["latency_avg"] = {"total_ms": 0.0}
    feed("call_end", "a", {"metrics": m1})
    feed("call_end", "b", {"metrics": m2})
    assert feed.proj.aggregates.snapshot(active_calls=0)["avg_latency_ms"] == 500.0


def test_latency_percentiles_are_over_all_turns_with_their_count() -> None:
    feed = Feed()
    for c in range(4):
        m = metrics(f"c{c}", turns=0)
        m["turns"] = [turn(i, total=float(100 * (c * 5 + i + 1))) for i in range(5)]
        feed("call_end", f"c{c}", {"metrics": m})
    pct = feed.proj.aggregates.snapshot(active_calls=0)["latency_percentiles"]
    assert pct == {"p50": 1000.0, "p95": 1900.0, "p99": 2000.0, "n": 20}


def test_running_cost_sums_per_turn_cost_extras_while_live() -> None:
    feed = Feed()
    feed("call_start", "a")
    for i in range(2):
        t = turn(i)
        t["cost"] = {"stt": 0.001, "tts": 0.002, "llm": 0.003, "telephony": 0.004, "total": 0.01}
        feed("turn_complete", "a", {"turn": t})
    assert feed.proj.active["a"].record["running_cost"]["total"] == pytest.approx(0.02)


def test_call_events_form_the_call_timeline() -> None:
    feed = Feed()
    feed("call_start", "a", ts=1)
    feed("call_event", "a", {"kind": "barge_in", "detail": {"at_ms": 120}}, ts=5)
    feed("call_end", "a", {"metrics": metrics("a")}, ts=9)
    feed("call_event", "a", {"kind": "error", "name": "post_call_hook"}, ts=10)
    assert [e["kind"] for e in feed.ring()[0]["events"]] == ["barge_in", "error"]


def test_fold_call_rebuilds_one_call_from_its_events() -> None:
    events = [
        LoggedEvent(1, "x1", "call_start", "a", 1.0, {"caller": "+1", "callee": "+2", "direction": "inbound"}),
        LoggedEvent(2, "x2", "call_end", "a", 9.0, {"metrics": metrics("a"), "transcript": []}),
    ]
    record = fold_call(events)
    assert record is not None and record["status"] == "completed" and record["ended_at"] == 9.0
    assert fold_call([]) is None


def test_a_real_call_end_replaces_a_guessed_lost_status() -> None:
    feed = Feed()
    feed("call_start", "a", ts=1)
    feed("call_status", "a", {"status": "lost", "reason": "no event for 7200 s"}, ts=8000)
    feed("call_end", "a", {"metrics": metrics("a")}, ts=8001)
    assert feed.ring()[0]["status"] == "completed"


def test_outcomes_split_how_ring_calls_ended_and_follow_eviction() -> None:
    feed = Feed(ring_size=6)
    for call_id, status in [
        ("ok", "completed"),
        ("busy", "busy"),
        ("noans", "no-answer"),
        ("fail", "failed"),
        ("late", "timeout"),
        ("gone", "lost"),
    ]:
        feed("call_start", call_id)
        feed("call_status", call_id, {"status": status})
    feed("call_start", "end-only")
    feed("call_end", "end-only", {"metrics": metrics("end-only")})  # no status: the fold calls it completed
    outcomes = feed.proj.aggregates.snapshot(active_calls=0)["outcomes"]
    # "ok" was evicted by the seventh call; a busy or unanswered call is not "completed"
    assert outcomes == {"completed": 1, "failed": 2, "no_answer": 2, "lost": 1}


def test_folding_one_call_builds_no_ring_and_agrees_with_the_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    from patterdash.core import projection
    from patterdash.sources.demo import demo_events

    proj = Projection(ring_size=100)
    by_call: dict[str, list[LoggedEvent]] = {}
    for seq, raw in enumerate(demo_events(seed=5, start=1_780_000_000.0, calls=6, history=4), start=1):
        valid = validate_event(raw, now=raw["ts"])
        ev = LoggedEvent(seq, valid["id"], valid["type"], valid["call_id"], valid["ts"], valid["data"])
        proj.apply(ev)
        by_call.setdefault(ev.call_id, []).append(ev)

    class NoRing:
        def __init__(self, **_: Any) -> None:
            raise AssertionError("fold_call built a whole Projection for one call")

    monkeypatch.setattr(projection, "Projection", NoRing)
    for call_id, events in by_call.items():
        state = proj.get(call_id)
        assert state is not None and fold_call(events) == state.record, call_id


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"turn_index": 0, "user_text": "hi", "latency": {"total_ms": 812.5}}],
        [{"turn_index": i, "agent_text": "é" * i, "cost": {"total": 0.001 * i}} for i in range(10)],
        [{"kind": "tool", "name": "lookup", "detail": {"args": [1, 2.5, None, True]}, "ts": 1.25}] * 3,
        [[1, 2], "text", 3.0, {"nested": {"deep": [float("nan")]}}],
    ],
)
def test_a_recount_counts_turns_and_events_as_their_items_one_by_one(items: list[Any]) -> None:
    state = CallState(record={"transcript": [], "turns": items, "events": list(items)}, last_seq=1, last_ts=0.0)
    state.recount()
    assert state.held_bytes == 2 * sum(entry_size("turns", item) for item in items)
