"""The demo simulator: deterministic, realistic, valid events that a real server accepts."""

from __future__ import annotations

import itertools
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from patterdash.core.events import TERMINAL_STATUSES, LoggedEvent, validate_event
from patterdash.core.projection import Projection
from patterdash.sources.demo import demo_events
from patterdash_cli.demo import send_timed
from tests.cli_helpers import invoke
from tests.conftest import TOKEN, StartClient
from tests.reliability_helpers import running_server, wait_until

START = 1_767_225_600.0


def _many(calls: int = 200, **kw: Any) -> list[dict[str, Any]]:
    return list(demo_events(seed=7, start=START, calls=calls, **kw))


def _by_call(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        out.setdefault(ev["call_id"], []).append(ev)
    return out


def test_the_same_seed_and_start_give_the_same_events() -> None:
    assert _many(20) == _many(20)
    assert _many(20) != list(demo_events(seed=8, start=START, calls=20))


def test_every_event_is_valid_and_in_time_order_with_unique_ids() -> None:
    events = _many()
    for ev in events:
        assert validate_event(ev, now=START) == {**ev, "data": validate_event(ev, now=START)["data"]}
    assert [ev["ts"] for ev in events] == sorted(ev["ts"] for ev in events)
    assert len({ev["id"] for ev in events}) == len(events)


def test_calls_mix_directions_outcomes_tool_calls_and_barge_ins() -> None:
    events = _many()
    calls = _by_call(events)
    assert len(calls) == 200
    assert all(evs[-1]["type"] == "call_end" for evs in calls.values())
    directions = Counter(evs[0]["data"]["direction"] for evs in calls.values())
    assert directions["inbound"] > 50 and directions["outbound"] > 50
    outcomes = Counter(evs[-1]["data"]["status"] for evs in calls.values())
    assert outcomes["completed"] > 150
    assert {"busy", "no-answer", "failed"} <= set(outcomes)
    kinds = Counter(ev["data"]["kind"] for ev in events if ev["type"] == "call_event")
    assert kinds["tool_call"] == kinds["tool_result"] > 50
    assert kinds["barge_in"] > 10 and kinds["error"] > 0


def test_latencies_are_plausible_and_costs_add_up() -> None:
    for evs in _by_call(_many(60)).values():
        end = evs[-1]["data"]["metrics"]
        turns = [ev["data"]["turn"] for ev in evs if ev["type"] == "turn_complete"]
        assert end["turns"] == turns
        for t in turns:
            lat = t["latency"]
            assert 60 <= lat["stt_ms"] <= 1500 and 120 <= lat["llm_ttft_ms"] <= 6000
            assert lat["total_ms"] > lat["stt_ms"] + lat["llm_ttft_ms"] + lat["tts_ms"]
            assert t["cost"]["total"] == pytest.approx(sum(t["cost"][k] for k in ("stt", "tts", "llm", "telephony")))
        cost = end["cost"]
        assert cost["total"] == pytest.approx(sum(cost[k] for k in ("stt", "tts", "llm", "telephony")))
        assert cost["tts"] == pytest.approx(sum(t["cost"]["tts"] for t in turns), abs=1e-6)
        if turns:
            assert 0 < cost["total"] < 1 and 10 < end["duration_seconds"] < 300
            assert end["latency_p95"]["total_ms"] >= end["latency_p50"]["total_ms"]


def test_several_calls_are_live_at_once_and_turns_come_every_few_seconds() -> None:
    events = _many(40)
    live: set[str] = set()
    most = 0
    for ev in events:
        if ev["type"] in ("call_initiated", "call_start"):
            live.add(ev["call_id"])
        elif ev["type"] == "call_end" or ev["data"].get("status") in TERMINAL_STATUSES:
            live.discard(ev["call_id"])
        most = max(most, len(live))
    assert most >= 3
    gaps = [
        b["ts"] - a["ts"]
        for evs in _by_call(events).values()
        for a, b in itertools.pairwise([e for e in evs if e["type"] == "turn_complete"])
    ]
    assert 3 < sum(gaps) / len(gaps) < 15


def test_speed_compresses_time_but_not_what_the_calls_report() -> None:
    slow, fast = _many(10), _many(10, speed=10)
    span = slow[-1]["ts"] - START
    assert fast[-1]["ts"] - START == pytest.approx(span / 10, rel=0.01)
    ends = [e for e in fast if e["type"] == "call_end"]
    assert [e["data"]["metrics"]["duration_seconds"] for e in ends] == [
        e["data"]["metrics"]["duration_seconds"] for e in slow if e["type"] == "call_end"
    ]


def test_history_calls_end_before_start() -> None:
    events = list(demo_events(seed=1, start=START, calls=2, history=5))
    calls = _by_call(events)
    assert len(calls) == 7
    finished = [evs for evs in calls.values() if evs[-1]["ts"] < START]
    assert len(finished) == 5


def test_the_projection_keeps_a_running_cost_for_a_live_demo_call() -> None:
    events = [e for e in _many(30) if e["data"].get("metrics") is None]  # every call stays live
    proj = Projection()
    for seq, ev in enumerate(events, start=1):
        proj.apply(LoggedEvent(seq, ev["id"], ev["type"], ev["call_id"], ev["ts"], ev["data"]))
    talked = [s.record for s in proj.active.values() if s.record["turns"]]
    assert talked
    for record in talked:
        expected = sum(t["cost"]["total"] for t in record["turns"])
        assert record["running_cost"]["total"] == pytest.approx(expected)


async def test_a_real_server_accepts_every_demo_event_and_every_call_completes(start_client: StartClient) -> None:
    client = await start_client(token=TOKEN)
    url = str(client.make_url("")).rstrip("/")
    events = list(demo_events(seed=3, start=time.time(), speed=500, calls=12, history=3))
    sent = await send_timed(events, base_url=url, token=TOKEN)
    assert sent == len(events)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    calls = await (await client.get("/api/dashboard/calls?limit=100", headers=headers)).json()
    assert len(calls) == 15
    assert await (await client.get("/api/dashboard/active", headers=headers)).json() == []
    aggregates = await (await client.get("/api/dashboard/aggregates", headers=headers)).json()
    assert aggregates["total_cost"] > 0 and aggregates["latency_percentiles"]["n"] > 20


def test_demo_command_streams_into_a_running_server(tmp_path: Path) -> None:
    with running_server(tmp_path / "demo.db") as server:
        result = invoke("demo", "--into", server.base_url, "--calls", "4", "--speed", "400", "--seed", "5")
        assert result.exit_code == 0, result.stderr
        assert "sent" in result.stderr and result.stdout == ""
        with urllib.request.urlopen(f"{server.base_url}/api/dashboard/calls", timeout=5) as resp:
            assert len(orjson.loads(resp.read())) == 4


def test_demo_into_a_protected_server_without_a_token_is_a_one_line_error(tmp_path: Path) -> None:
    with running_server(tmp_path / "demo.db", "--token", TOKEN) as server:
        result = invoke("demo", "--into", server.base_url, "--calls", "1", "--speed", "400")
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr


def test_demo_into_nothing_is_a_one_line_error() -> None:
    result = invoke("demo", "--into", "http://127.0.0.1:9", "--calls", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: cannot reach")
    assert invoke("demo", "--speed", "0").exit_code == 2


@pytest.mark.parametrize("args", [(), ("--token", TOKEN)], ids=["open", "with-token"])
def test_serve_demo_shows_finished_and_live_calls_at_once(tmp_path: Path, args: tuple[str, ...]) -> None:
    with running_server(tmp_path / "live.db", "--demo", *args) as server:

        def get(path: str) -> list[Any]:
            request = urllib.request.Request(f"{server.base_url}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(request, timeout=5) as resp:
                return list(orjson.loads(resp.read()))

        def shown() -> bool:
            return len(get("/api/dashboard/calls")) >= 5 and len(get("/api/dashboard/active")) >= 1

        wait_until(shown, timeout=15.0, what="demo calls in the table and in the live rail")


def test_demo_help_has_an_example() -> None:
    assert "Example: patterdash demo --into" in invoke("demo", "--help").stdout
    assert "--demo" in invoke("serve", "--help").stdout


def test_serve_demo_ends_its_calls_on_sigterm_so_the_next_start_shows_none_live(tmp_path: Path) -> None:
    import signal

    from tests.reliability_helpers import ServerProcess, full_fold

    db = tmp_path / "stop.db"
    server = ServerProcess(db, "--demo")
    try:
        server.start()

        def live() -> int:
            with urllib.request.urlopen(f"{server.base_url}/api/dashboard/active", timeout=5) as resp:
                return len(orjson.loads(resp.read()))

        wait_until(lambda: live() >= 1, timeout=15.0, what="a live demo call")
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        server.stop()
    assert full_fold(db)["active"] == {}
    ended = [c for c in full_fold(db)["ring"] if c.get("reason") == "demo stopped"]
    assert ended and all(c["status"] == "canceled" for c in ended)
