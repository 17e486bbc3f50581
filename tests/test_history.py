"""The history API over the whole log, against a real server (SQLite and PostgreSQL logs)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.core.aggregates import outcome_of
from patterdash.web.history_models import History
from tests.conftest import StartClient
from tests.factories import event, metrics, turn

DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
STATUSES = ["completed", "completed", "busy", "no-answer", "failed", "completed", "lost"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here runs on both stores."""
    if "log_backend" in metafunc.fixturenames:
        metafunc.parametrize("log_backend", ["sqlite", "postgres"], indirect=True)


def _call(n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Call n: started n * 5h07m after T0 (so ~15 days of history), with a known outcome, cost and turns."""
    cid = f"h{n:03d}"
    start = T0 + n * 18_420
    status = STATUSES[n % len(STATUSES)]
    direction = "outbound" if n % 3 == 0 else "inbound"
    latency = 400.0 + 10 * (n % 40) + (2_000.0 if 80 <= n < 90 else 0.0)  # a regression on calls 80-89
    m = metrics(cid, duration=30.0 + n % 11, cost=0.01 * (n % 5 + 1), turns=0)
    m["turns"] = [turn(i, total=latency + i, user=f"hello {cid}") for i in range(1 + n % 3)]
    if n % 4 == 0:
        m["stt_provider"] = "whisper"
    events = [event("call_start", cid, {"caller": f"+1555{n:07d}", "callee": "+15550000000", "direction": direction})]
    events[0]["ts"] = start
    if status != "completed":  # an explicit status set during the call survives call_end
        events.append(event("call_status", cid, {"status": status}, ts=start + 5))
    if status == "lost":  # closed as lost, never ended: no metrics (zero cost, no turns)
        m = {"duration_seconds": 0.0, "turns": [], "cost": {"total": 0.0, "stt": 0.0}, "stt_provider": ""}
    else:
        transcript = [{"role": "user", "text": f"Hello {cid}"}, {"role": "assistant", "text": "hi"}]
        events.append(event("call_end", cid, {"metrics": m, "transcript": transcript}, ts=start + 40))
    facts = {"cid": cid, "start": start, "status": status, "direction": direction, "metrics": m}
    return events, facts


async def _history_log(client: TestClient[Any, Any], calls: int = 100) -> list[dict[str, Any]]:
    """Ingest ``calls`` calls through the API, delete two; return the facts of the ones kept."""
    kept = []
    batch: list[dict[str, Any]] = []
    for n in range(calls):
        events, facts = _call(n)
        batch += events
        kept.append(facts)
    resp = await client.post("/api/events", json=batch)
    assert resp.status == 200, await resp.text()
    resp = await client.post("/api/dashboard/calls/delete", json={"call_ids": ["h001", "h050"]})
    assert (await resp.json())["count"] == 2
    return [f for f in kept if f["cid"] not in ("h001", "h050")]


def _expected(facts: list[dict[str, Any]], lo: float, hi: float) -> dict[str, Any]:
    chosen = [f for f in facts if lo <= f["start"] < hi]
    outcomes = {"completed": 0, "failed": 0, "no_answer": 0, "lost": 0}
    for f in chosen:
        outcomes[outcome_of(f["status"])] += 1
    turns = sorted(t["latency"]["total_ms"] for f in chosen for t in f["metrics"]["turns"])
    return {
        "calls": len(chosen),
        "outcomes": outcomes,
        "total_cost": round(sum(f["metrics"]["cost"]["total"] for f in chosen), 6),
        "stt_cost": round(sum(f["metrics"]["cost"]["stt"] for f in chosen), 6),
        "avg_duration": round(sum(f["metrics"]["duration_seconds"] for f in chosen) / len(chosen), 2),
        "turns": turns,
    }


def _nearest_rank(values: list[float], p: float) -> float:
    return values[max(1, math.ceil(len(values) * p / 100)) - 1]


async def _get(client: TestClient[Any, Any], path: str, status: int = 200) -> Any:
    resp = await client.get(path)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_history_answers_a_range_over_the_whole_log_not_the_ring(start_client: StartClient) -> None:
    client = await start_client(ring_size=5, stale_after=10**9)
    facts = await _history_log(client)
    lo, hi = T0 + 2 * DAY, T0 + 12 * DAY
    body = await _get(client, f"/api/dashboard/history?from={lo}&to={hi}")
    History.model_validate(body)  # the documented shape, no more, no less
    want, totals = _expected(facts, lo, hi), body["totals"]
    assert (body["source"], body["from"], body["to"], body["bucket_seconds"]) == ("rollups", lo, hi, 21600)
    assert totals["calls"] == want["calls"] > 5  # beyond the ring of 5
    assert totals["outcomes"] == want["outcomes"]
    assert totals["total_cost"] == want["total_cost"]
    assert totals["cost_breakdown"]["stt"] == want["stt_cost"]
    assert totals["avg_duration"] == want["avg_duration"]
    latency = totals["latency_percentiles"]
    assert latency["n"] == len(want["turns"])
    for p in (50, 90, 95, 99):  # from every turn in the range, within the histogram's 5 %
        assert latency[f"p{p}"] == pytest.approx(_nearest_rank(want["turns"], p), rel=0.05)
    series = body["series"]
    assert len(series) == (hi - lo) // 21600 and series[0]["t"] == lo
    assert sum(point["calls"] for point in series) == want["calls"]
    assert sum(point["outcomes"]["lost"] for point in series) == want["outcomes"]["lost"]
    await client.close()


async def test_the_latency_series_shows_the_regression_where_it_happened(start_client: StartClient) -> None:
    client = await start_client(stale_after=10**9)
    await _history_log(client)
    body = await _get(client, f"/api/dashboard/history?from={T0}&to={T0 + 30 * DAY}&bucket=86400")
    worst = max(body["series"], key=lambda p: p["latency_percentiles"]["p50"])
    regressed = {T0 + (n * 18_420) // DAY * DAY for n in range(80, 90)}  # the days of calls 80-89
    assert worst["t"] in regressed and worst["latency_percentiles"]["p50"] > 2_000
    empty = [p for p in body["series"] if p["calls"] == 0]
    assert empty and all(p["latency_percentiles"] == {"p50": 0.0, "p95": 0.0, "n": 0} for p in empty)
    await client.close()


async def test_filters_from_rollups_and_from_a_scan_agree_with_the_calls(start_client: StartClient) -> None:
    client = await start_client(stale_after=10**9)
    facts = await _history_log(client)
    span = f"from={T0}&to={T0 + 30 * DAY}"
    busy = await _get(client, f"/api/dashboard/history?{span}&status=busy,no-answer&direction=outbound")
    want = [f for f in facts if f["status"] in ("busy", "no-answer") and f["direction"] == "outbound"]
    assert busy["source"] == "rollups" and busy["totals"]["calls"] == len(want) > 0
    assert busy["totals"]["outcomes"]["no_answer"] == len(want)
    whisper = await _get(client, f"/api/dashboard/history?{span}&provider=whisper")
    assert whisper["source"] == "scan"
    assert whisper["totals"]["calls"] == len([f for f in facts if f["metrics"]["stt_provider"] == "whisper"])
    ended = "status=completed,busy,no-answer,failed"  # every call but the lost ones used twilio
    every = await _get(client, f"/api/dashboard/history?{span}&{ended}&provider=twilio")
    plain = await _get(client, f"/api/dashboard/history?{span}&{ended}")
    assert every["totals"]["calls"] > 0 and {**every, "source": "rollups"} == plain
    found = await _get(client, f"/api/dashboard/history?{span}&q=HELLO%20h042")  # transcript text
    assert found["source"] == "scan" and found["totals"]["calls"] == 1
    await client.close()


async def test_history_calls_page_the_whole_log_newest_first(start_client: StartClient) -> None:
    client = await start_client(ring_size=5, stale_after=10**9)
    facts = await _history_log(client)
    newest = sorted(facts, key=lambda f: f["start"], reverse=True)
    resp = await client.get("/api/dashboard/history/calls?limit=30&offset=10")
    assert resp.headers["X-Total-Count"] == str(len(facts))
    page = await resp.json()
    assert [c["call_id"] for c in page] == [f["cid"] for f in newest[10:40]]
    assert page[0]["transcript"] and page[0]["metrics"]["turns"]  # full records, folded from the log
    resp = await client.get(f"/api/dashboard/history/calls?from={T0 + DAY}&to={T0 + 3 * DAY}&view=summary")
    summary = await resp.json()
    inside = [f["cid"] for f in newest if T0 + DAY <= f["start"] <= T0 + 3 * DAY]
    assert [c["call_id"] for c in summary] == inside and resp.headers["X-Total-Count"] == str(len(inside))
    assert "transcript" not in summary[0] and "turn_count" in summary[0]
    resp = await client.get("/api/dashboard/history/calls?q=%2B15550000042&limit=nope")  # lenient paging
    assert [c["call_id"] for c in await resp.json()] == ["h042"] and resp.headers["X-Total-Count"] == "1"
    gone = await (await client.get("/api/dashboard/history/calls?limit=1000")).json()
    assert {"h001", "h050"}.isdisjoint(c["call_id"] for c in gone)  # deleted calls leave history
    await client.close()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (f"from={T0 + DAY}&to={T0}", "invalid range"),
        (f"from={T0}&to={T0 + DAY}&bucket=7", "invalid range"),
        (f"from={T0}&to={T0 + 30 * DAY}&bucket=60", "invalid range"),  # 43,200 points
        ("from=yesterday", "invalid from"),
        ("from=100000000000000000000&to=100000000000000000060", "invalid from"),
        ("direction=sideways", "invalid direction"),
        ("bucket=-5", "invalid bucket"),
    ],
)
async def test_bad_history_queries_are_json_400s(start_client: StartClient, query: str, error: str) -> None:
    client = await start_client()
    body = await _get(client, f"/api/dashboard/history?{query}", status=400)
    assert body["error"] == error and body["detail"]
    await client.close()


async def test_an_empty_log_answers_an_empty_hour(start_client: StartClient) -> None:
    client = await start_client()
    body = await _get(client, "/api/dashboard/history")
    assert body["totals"]["calls"] == 0 and 3600 <= body["to"] - body["from"] <= 3660 and len(body["series"]) >= 60
    await client.close()
