"""``patterdash replay``: the timeline, its pacing, raw events, and re-sending a call live."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import LoggedEvent
from patterdash.core.replay import Frame, latency_bars, restamp, timeline
from patterdash.store.sqlite import EventLog
from patterdash_cli.replay import play
from tests.cli_helpers import append_events, invoke, one_line_error
from tests.conftest import StartClient
from tests.factories import event, full_call, turn

T0 = 1_767_225_600.0


def _costed_call(call_id: str = "c1", *, span: float = 30.0) -> list[dict[str, Any]]:
    """full_call with per-turn costs, a second turn, and events spread over ``span`` seconds."""
    events = full_call(call_id, ts=T0)
    second = turn(1, user="book it", agent="done", total=1400.0)
    for index, item in enumerate((events[3]["data"]["turn"], second)):
        item["cost"] = {"stt": 0.001, "tts": 0.002, "llm": 0.0005, "telephony": 0.0015 * (index + 1)}
    events.insert(5, event("turn_complete", call_id, {"turn": second}, ts=T0 + 5))
    events[-1]["ts"] = T0 + span
    return events


def _logged(db: Path, call_id: str = "c1") -> list[LoggedEvent]:
    log = EventLog(db)
    try:
        return log.events_for_calls([call_id])
    finally:
        log.close()


def test_timeline_shows_relative_times_speakers_latency_bars_and_running_cost(db_path: Path) -> None:
    append_events(db_path, _costed_call())
    result = invoke("replay", "c1", "--speed", "0", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "+00:00.0  call_start" in out and "+15550001111 → +15550002222" in out
    assert "+00:01.0  transcript_line User: hello" in out
    assert "+00:02.0  transcript_line Agent: hi" in out
    for stage in ("STT", "LLM first token", "TTS first byte", "total"):
        assert stage in out
    assert "running cost $0.0050" in out  # first turn: 0.001 + 0.002 + 0.0005 + 0.0015
    assert "running cost $0.0115" in out  # plus the second turn
    assert "tool_call lookup" in out
    assert "ended completed after 30.0 s, 1 turn\n" in out
    assert "call cost $0.0500" in out


def test_latency_bars_are_drawn_to_scale() -> None:
    bars = latency_bars({"stt_ms": 100, "llm_ttft_ms": 400, "tts_ms": 0, "total_ms": 800}, scale_ms=800, width=8)
    texts = [text.strip() for text, _ in bars]
    assert texts == [
        "STT             █·······     100 ms",
        "LLM first token ████····     400 ms",
        "TTS first byte  ········       — ms",
        "total           ████████     800 ms",
    ]


def test_json_prints_the_raw_envelopes_as_ndjson(db_path: Path) -> None:
    append_events(db_path, _costed_call())
    result = invoke("replay", "c1", "--json", "--db", db_path)
    assert result.exit_code == 0
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert printed == [ev.envelope() for ev in _logged(db_path)]
    assert [p["seq"] for p in printed] == sorted(p["seq"] for p in printed)


def test_an_unknown_id_exits_1_with_one_line_and_the_closest_ids(db_path: Path) -> None:
    append_events(db_path, [*_costed_call("CA-1234-alpha"), *_costed_call("CA-9999-omega")])
    result = invoke("replay", "CA-1234-alpah", "--db", db_path)
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "no call 'CA-1234-alpah'" in line and "did you mean CA-1234-alpha" in line
    assert invoke("replay", "zzz", "--db", db_path).exit_code == 1


def test_usage_errors_exit_2(db_path: Path) -> None:
    assert invoke("replay", "--db", db_path).exit_code == 2
    assert invoke("replay", "c1", "--speed", "-1", "--db", db_path).exit_code == 2


def _frames(*offsets: float) -> list[Frame]:
    return [Frame(offset, ((f"at {offset}", ""),)) for offset in offsets]


def test_play_waits_the_real_gaps_divided_by_speed_and_caps_long_silences() -> None:
    waits: list[float] = []
    shown: list[float] = []
    play(_frames(0, 1, 3, 603), speed=2, max_gap=10, show=lambda f: shown.append(f.offset), sleep=waits.append)
    assert shown == [0, 1, 3, 603]
    assert waits == [0.5, 1.0, 10]
    waits.clear()
    play(_frames(0, 1, 3), speed=0, max_gap=10, show=lambda f: None, sleep=waits.append)
    assert waits == []


def test_replay_is_paced_by_speed(db_path: Path) -> None:
    append_events(db_path, _costed_call(span=8.0))  # events from +0 s to +8 s
    started = time.monotonic()
    assert invoke("replay", "c1", "--speed", "4", "--db", db_path).exit_code == 0
    paced = time.monotonic() - started
    started = time.monotonic()
    assert invoke("replay", "c1", "--speed", "0", "--db", db_path).exit_code == 0
    at_once = time.monotonic() - started
    # 8 s of call at 4x is 2 s of waiting: more than a loaded box adds to starting a replay (0.75 s flaked)
    assert 1.9 <= paced < 20, paced
    assert at_once < paced


def test_restamp_moves_every_time_and_renames_the_call(db_path: Path) -> None:
    append_events(db_path, _costed_call(span=30.0))
    events = _logged(db_path)
    copies = restamp(events, call_id="c1-copy", now=2_000_000_000.0, speed=2)
    assert {c["call_id"] for c in copies} == {"c1-copy"}
    assert len({c["id"] for c in copies}) == len(events)
    assert copies[0]["ts"] == 2_000_000_000.0 and copies[-1]["ts"] == 2_000_000_015.0
    end = copies[-1]["data"]
    assert end["metrics"]["call_id"] == "c1-copy"
    assert copies[3]["data"]["turn"]["timestamp"] == 2_000_000_000.0 + (1_700_000_000.0 - T0) / 2
    at_once = restamp(events, call_id="c1-copy", now=2_000_000_000.0, speed=0)
    assert at_once[-1]["ts"] == 2_000_000_000.0 and at_once[0]["ts"] == 2_000_000_000.0 - 30.0


async def test_into_resends_the_call_to_a_running_server_under_a_new_id(
    start_client: StartClient, db_path: Path
) -> None:
    client = await start_client()
    assert (await client.post("/api/events", json=_costed_call())).status == 200
    url = str(client.make_url("")).rstrip("/")
    result = await asyncio.to_thread(invoke, "replay", "c1", "--into", url, "--speed", "0", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    copy_id = result.stdout.strip()
    assert copy_id.startswith("c1-replay-")
    copy = await (await client.get(f"/api/dashboard/calls/{copy_id}")).json()
    original = await (await client.get("/api/dashboard/calls/c1")).json()
    assert copy["status"] == "completed"
    assert [t["text"] for t in copy["transcript"]] == [t["text"] for t in original["transcript"]]
    assert copy["metrics"]["cost"] == original["metrics"]["cost"]
    assert copy["ended_at"] - copy["started_at"] == pytest.approx(original["ended_at"] - original["started_at"])
    assert copy["ended_at"] == pytest.approx(time.time(), abs=30)


def test_into_an_unreachable_server_is_a_one_line_error(db_path: Path) -> None:
    append_events(db_path, _costed_call())
    result = invoke("replay", "c1", "--into", "http://127.0.0.1:9", "--speed", "0", "--db", db_path)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "error: cannot reach http://127.0.0.1:9 (is the server running?)"


def test_timeline_of_a_call_without_costs_still_renders() -> None:
    events = [LoggedEvent(n + 1, f"e{n}", ev["type"], "c", T0 + n, ev["data"]) for n, ev in enumerate(full_call("c"))]
    frames = timeline(events)
    assert [f.offset for f in frames] == [0, 1, 2, 3, 4, 5]  # ts are T0 + n here
    assert not any("running cost" in text for f in frames for text, _ in f.lines)


def _logged_events(raw: list[dict[str, Any]]) -> list[LoggedEvent]:
    """LoggedEvents in the order given (the log's seq order)."""
    return [
        LoggedEvent(n + 1, f"e{n}", e["type"], e["call_id"], e["ts"], e.get("data") or {}) for n, e in enumerate(raw)
    ]


def _text(frames: list[Frame]) -> list[str]:
    return [text.strip() for frame in frames for text, _ in frame.lines]


def _patter_way(*, stamped: bool) -> list[LoggedEvent]:
    """What notify_dashboard leaves in the log: a start, then an end carrying transcript and turns."""
    turns = [turn(0, user="hello", agent="hi there"), turn(1, user="book it", agent="done", total=1400.0)]
    for n, item in enumerate(turns):
        if stamped:
            item["timestamp"] = T0 + 5 + 7 * n
        else:
            item.pop("timestamp")
    transcript = [{"role": "user", "text": "hello"}, {"role": "assistant", "text": "hi there"}]
    metrics = {"duration_seconds": 30.0, "turns": turns, "cost": {"total": 0.02}}
    return _logged_events(
        [
            {"type": "call_start", "call_id": "p", "ts": T0, "data": {"caller": "+1555", "callee": "+1666"}},
            {"type": "call_end", "call_id": "p", "ts": T0 + 30, "data": {"transcript": transcript, "metrics": metrics}},
        ]
    )


def test_a_patter_way_call_replays_its_conversation_at_each_turns_time_with_latency() -> None:
    lines = _text(timeline(_patter_way(stamped=True)))
    assert "+00:05.0  transcript      User: hello" in lines
    assert "+00:05.0  transcript      Agent: hi there" in lines
    assert "+00:12.0  transcript      User: book it" in lines
    assert "+00:12.0  turn            turn 1 latency" in lines
    assert any("total" in line and "1400 ms" in line for line in lines)
    assert lines.index("+00:12.0  transcript      User: book it") < next(
        i for i, line in enumerate(lines) if "call_end" in line
    )


def test_turns_without_a_timestamp_are_spread_over_the_calls_duration() -> None:
    lines = _text(timeline(_patter_way(stamped=False)))
    assert "+00:10.0  transcript      User: hello" in lines  # 30 s over 2 turns: at 10 s and 20 s
    assert "+00:20.0  transcript      Agent: done" in lines


def test_an_imported_call_replays_in_time_order() -> None:
    line = {"role": "user", "text": "x"}
    raw = [{"type": "call_start", "call_id": "i", "ts": T0, "data": {}}]
    raw += [{"type": "transcript_line", "call_id": "i", "ts": T0 + t, "data": line} for t in (16.0, 23.6, 20.6, 20.9)]
    offsets = [frame.offset for frame in timeline(_logged_events(raw))]
    assert offsets == sorted(offsets) and len(offsets) == 5
