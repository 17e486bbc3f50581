"""Compatibility with the real Patter SDK (getpatter): its dataclasses, notify_dashboard, store and CallLogger."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from patterdash.client import PatterAdapter, PatterdashClient, mirror_patter_store
from patterdash.core.projection import fold_call
from patterdash.sources.importer import import_path
from patterdash.store.sqlite import EventLog
from patterdash.web.keys import SERVICE
from tests.conftest import StartClient

getpatter = pytest.importorskip("getpatter")
from getpatter.dashboard.export import calls_to_json  # noqa: E402
from getpatter.dashboard.persistence import notify_dashboard  # noqa: E402
from getpatter.dashboard.store import MetricsStore  # noqa: E402
from getpatter.models import CallMetrics, CostBreakdown, LatencyBreakdown, TurnMetrics  # noqa: E402
from getpatter.services.call_log import CallLogger  # noqa: E402

pytestmark = pytest.mark.interop


def sdk_turn(index: int, *, agent: str | None = None) -> TurnMetrics:
    """A real TurnMetrics as the SDK's accumulator produces it."""
    latency = LatencyBreakdown(
        stt_ms=110.0, llm_ms=320.0, tts_ms=150.0, total_ms=580.0 + index, llm_ttft_ms=300.0, agent_response_ms=610.0
    )
    return TurnMetrics(
        turn_index=index,
        user_text=f"user says {index}",
        agent_text=agent if agent is not None else f"agent says {index}",
        latency=latency,
        stt_audio_seconds=1.4,
        tts_characters=12,
        timestamp=time.time(),
    )


def sdk_metrics(call_id: str, turns: tuple[TurnMetrics, ...]) -> CallMetrics:
    """A real CallMetrics with every percentile and cost field the SDK fills."""
    return CallMetrics(
        call_id=call_id,
        duration_seconds=42.5,
        turns=turns,
        cost=CostBreakdown(stt=0.01, tts=0.02, llm=0.03, telephony=0.04, total=0.1, llm_cached_savings=0.005),
        latency_avg=LatencyBreakdown(total_ms=600.0, agent_response_ms=610.0),
        latency_p95=LatencyBreakdown(total_ms=900.0),
        provider_mode="pipeline",
        stt_provider="deepgram",
        tts_provider="elevenlabs",
        llm_provider="openai",
        telephony_provider="twilio",
        llm_model="gpt-4o-mini",
        latency_p50=LatencyBreakdown(total_ms=590.0),
        preemptive_hits=2,
    )


def _url(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("")).rstrip("/")


def drive(store: Any, call_id: str) -> CallMetrics:
    """Everything the SDK's server tells its metrics store during one outbound call."""
    store.record_call_initiated(
        {
            "call_id": call_id,
            "caller": "+15550001111",
            "callee": "+15550002222",
            "direction": "outbound",
            "status": "initiated",
        }
    )
    store.update_call_status(call_id, "ringing")
    store.record_call_start({"call_id": call_id, "caller": "", "callee": "", "direction": "outbound"})
    store.record_transcript_line({"call_id": call_id, "turnIndex": 0, "role": "user", "text": "user says 0"})
    turns = (sdk_turn(0), sdk_turn(1, agent="[interrupted]"))
    for turn in turns:
        store.record_turn({"call_id": call_id, "turn": turn})
    metrics = sdk_metrics(call_id, turns)
    store.record_call_end({"call_id": call_id, "ended_at": time.time()}, metrics=metrics)
    return metrics


async def test_the_adapter_forwards_every_sdk_event_with_its_dataclasses(client: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(client)) as pd:
        drive(PatterAdapter(pd), "CA-adapter")
        assert await pd.flush()
        assert (pd.stats.sent, pd.stats.rejected) == (7, 0)
    call = await (await client.get("/api/dashboard/calls/CA-adapter")).json()
    assert (call["status"], call["direction"], call["caller"]) == ("completed", "outbound", "+15550001111")
    assert call["metrics"]["cost"]["llm_cached_savings"] == 0.005
    assert call["metrics"]["latency_p95"]["total_ms"] == 900.0
    assert call["metrics"]["llm_model"] == "gpt-4o-mini" and call["metrics"]["preemptive_hits"] == 2
    assert [t["turn_index"] for t in call["turns"]] == [0, 1]
    texts = [(line["role"], line["text"]) for line in call["transcript"]]
    assert texts == [("user", "user says 0"), ("assistant", "agent says 0"), ("user", "user says 1")]
    aggregates = await (await client.get("/api/dashboard/aggregates")).json()
    assert aggregates["latency_percentiles"]["n"] == 2


async def test_the_adapter_tees_into_the_sdk_store_it_wraps(client: TestClient[Any, Any]) -> None:
    store = MetricsStore()
    async with PatterdashClient(_url(client)) as pd:
        adapter = PatterAdapter(pd, store=store)
        drive(adapter, "CA-tee")
        assert await pd.flush()
    assert [c["call_id"] for c in adapter.get_calls()] == ["CA-tee"]  # delegated to the SDK store
    ours = await (await client.get("/api/dashboard/calls/CA-tee")).json()
    theirs = store.get_call("CA-tee")
    assert theirs is not None
    assert orjson.loads(orjson.dumps(theirs["metrics"])) == ours["metrics"]  # same CallMetrics, field for field
    assert (ours["caller"], ours["direction"], ours["status"]) == (theirs["caller"], theirs["direction"], "completed")


async def test_mirror_patter_store_makes_every_sdk_store_report(client: TestClient[Any, Any]) -> None:
    async with PatterdashClient(_url(client)) as pd:
        undo = mirror_patter_store(pd)
        try:
            from getpatter.dashboard import store as patter_store

            store = patter_store.MetricsStore()  # what Patter.serve() builds
            drive(store, "CA-mirror")
            assert await pd.flush()
        finally:
            undo()
        assert patter_store.MetricsStore is MetricsStore
    assert store.get_call("CA-mirror") is not None
    call = await (await client.get("/api/dashboard/calls/CA-mirror")).json()
    assert call["status"] == "completed" and len(call["turns"]) == 2


@pytest.fixture
def notify_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """notify_dashboard enabled whatever the developer's environment says."""
    monkeypatch.delenv("PATTER_DASHBOARD_NOTIFY", raising=False)
    yield


@pytest.mark.usefixtures("notify_on")
async def test_notify_dashboard_payloads_become_call_records(start_client: StartClient) -> None:
    client = await start_client()
    port = client.server.port
    assert port is not None
    initiated = {"call_id": "CA-n1", "caller": "+15550001111", "callee": "+15550002222", "direction": "outbound"}
    await notify_dashboard({**initiated, "status": "initiated"}, port=port)
    active = await (await client.get("/api/dashboard/active")).json()
    assert [(c["call_id"], c["status"]) for c in active] == [("CA-n1", "initiated")]
    start = {"call_id": "CA-n1", "caller": "", "callee": "", "direction": "outbound", "telephony_provider": "twilio"}
    await notify_dashboard(start, port=port)
    turns = (sdk_turn(0),)
    end = {
        "call_id": "CA-n1",
        "caller": "",
        "callee": "",
        "ended_at": time.time(),
        "transcript": [{"role": "user", "text": "user says 0"}, {"role": "assistant", "text": "agent says 0"}],
        "conversation_history": [{"role": "user", "content": "user says 0"}],
        "metrics": sdk_metrics("CA-n1", turns),  # a dataclass: notify_dashboard flattens it
    }
    await notify_dashboard(end, port=port)
    await notify_dashboard(end, port=port)  # the SDK retries nothing, but a re-send must not duplicate
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert [c["call_id"] for c in calls] == ["CA-n1"]
    call = calls[0]
    assert (call["caller"], call["callee"], call["direction"]) == ("+15550001111", "+15550002222", "outbound")
    assert call["metrics"]["duration_seconds"] == 42.5 and call["metrics"]["cost"]["total"] == 0.1
    assert [line["text"] for line in call["transcript"]] == ["user says 0", "agent says 0"]


@pytest.mark.usefixtures("notify_on")
async def test_adapter_and_notify_together_never_duplicate_a_call(start_client: StartClient) -> None:
    client = await start_client()
    port = client.server.port
    assert port is not None
    async with PatterdashClient(_url(client)) as pd:
        adapter = PatterAdapter(pd)
        start = {"call_id": "CA-both", "caller": "+1555", "callee": "+1666", "direction": "inbound"}
        adapter.record_call_start(start)
        await notify_dashboard(start, port=port)
        end = {"call_id": "CA-both", "ended_at": time.time(), "transcript": [], "metrics": sdk_metrics("CA-both", ())}
        adapter.record_call_end(end, metrics=end["metrics"])
        await notify_dashboard(end, port=port)
        assert await pd.flush()
    assert client.server.app[SERVICE].stats.duplicates == 2  # the second start and end were recognised
    resp = await client.get("/api/dashboard/export/calls?format=json&scope=all")
    assert [c["call_id"] for c in orjson.loads(await resp.read())] == ["CA-both"]


def test_a_tree_written_by_the_sdk_call_logger_imports(tmp_path: Path, db_path: Path) -> None:
    logger = CallLogger(tmp_path)
    logger.log_call_start("CA-log", caller="+15550001111", callee="+15550002222", direction="inbound")
    turns = (sdk_turn(0), sdk_turn(1))
    for turn in turns:
        logger.log_turn("CA-log", dataclasses.asdict(turn))
    logger.log_event("CA-log", "tool_call", {"name": "lookup", "arguments": {"q": 1}, "result": None})
    metrics = sdk_metrics("CA-log", turns)
    logger.log_call_end(
        "CA-log",
        duration_seconds=metrics.duration_seconds,
        turns=2,
        cost=dataclasses.asdict(metrics.cost),
        latency={"p95_ms": 900.0, "avg": dataclasses.asdict(metrics.latency_avg), "p95": None},
    )
    log = EventLog(db_path)
    try:
        summary = import_path(tmp_path, log)
        assert (summary.imported, summary.errors) == (1, [])
        call = fold_call(log.events_for_calls(["CA-log"]))
    finally:
        log.close()
    assert call is not None
    assert call["status"] == "completed" and call["caller"] == "+15550001111"
    assert call["metrics"]["duration_seconds"] == 42.5 and call["metrics"]["cost"]["total"] == 0.1
    assert call["metrics"]["latency_avg"]["agent_response_ms"] == 610.0
    assert [e["name"] for e in call["events"]] == ["lookup"]
    assert len(call["transcript"]) == 4


def test_the_sdk_dashboard_export_imports(tmp_path: Path, db_path: Path) -> None:
    store = MetricsStore()
    for i in range(3):
        drive(store, f"CA-exp-{i}")
    export = tmp_path / "patter_calls.json"
    export.write_text(calls_to_json(store.get_calls()))
    log = EventLog(db_path)
    try:
        assert import_path(export, log).imported == 3
        assert import_path(export, log).events == 0
        order = [events[0].call_id for events in log.iter_completed_calls()]
        call = fold_call(log.events_for_calls(["CA-exp-1"]))
    finally:
        log.close()
    assert order == ["CA-exp-0", "CA-exp-1", "CA-exp-2"]
    assert call is not None and call["direction"] == "outbound" and call["metrics"]["cost"]["total"] == 0.1
    assert len(call["turns"]) == 2
