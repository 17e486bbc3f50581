"""``patterdash import``: call-log trees and exports, idempotent, malformed input reported not fatal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from typer.testing import CliRunner

from patterdash.core.projection import fold_call
from patterdash.export import export_chunks
from patterdash.sources.importer import import_path
from patterdash.store.sqlite import EventLog
from patterdash_cli.main import app
from tests.calllogs import T0, call_dir, iso, start_metadata, write_call, write_json
from tests.conftest import StartClient
from tests.factories import full_call, metrics


@pytest.fixture
def log(db_path: Path) -> Iterator[EventLog]:
    """An open event log on the test's file."""
    opened = EventLog(db_path)
    yield opened
    opened.close()


def record(log: EventLog, call_id: str) -> dict[str, Any]:
    """A call as a fresh process would fold it from the log."""
    folded = fold_call(log.events_for_calls([call_id]))
    assert folded is not None, f"{call_id} not in the log"
    return folded


def test_a_call_log_tree_becomes_completed_calls(tmp_path: Path, log: EventLog) -> None:
    for i in range(3):
        write_call(tmp_path / "logs", f"CA{i}", started=T0 + 3600 * i)
    summary = import_path(tmp_path / "logs", log)
    assert (summary.imported, summary.skipped, summary.errors) == (3, 0, [])
    call = record(log, "CA1")
    assert call["status"] == "completed"
    assert (call["started_at"], call["ended_at"]) == (T0 + 3600, T0 + 3660)
    assert (call["caller"], call["callee"], call["direction"]) == ("+15550001111", "+15550002222", "inbound")
    assert [line["text"] for line in call["transcript"]] == ["question 0", "answer 0", "question 1", "answer 1"]
    assert len(call["turns"]) == 2
    assert call["metrics"]["cost"]["total"] == 0.1
    assert call["metrics"]["duration_seconds"] == 60.0
    assert call["metrics"]["latency_p95"]["total_ms"] == 900.0
    assert [(e["kind"], e["name"]) for e in call["events"]] == [("tool_call", "lookup")]


def test_a_second_import_appends_nothing(tmp_path: Path, log: EventLog) -> None:
    for i in range(3):
        write_call(tmp_path, f"CA{i}")
    first = import_path(tmp_path / "calls", log)  # the calls/ directory itself works too
    seq = log.max_seq()
    second = import_path(tmp_path, log)
    assert first.imported == 3 and first.events == seq
    assert (second.imported, second.events, second.skipped) == (0, 0, 3)
    assert log.max_seq() == seq


def test_malformed_files_are_reported_and_skipped(tmp_path: Path, log: EventLog) -> None:
    write_call(tmp_path, "good")
    half = call_dir(tmp_path, "half-written")
    half.mkdir(parents=True)
    (half / "metadata.json").write_text('{"call_id": "half-written", "started_at": "2026-01-0')
    no_start = call_dir(tmp_path, "no-start")
    write_json(no_start / "metadata.json", {**start_metadata("no-start"), "started_at": None})
    bad_line = write_call(tmp_path, "bad-line", turns=1)
    with (bad_line / "transcript.jsonl").open("a") as fh:
        fh.write("{not json\n")
    summary = import_path(tmp_path, log)
    reasons = {Path(p.path.split(":")[0]).parent.name or p.path: p.reason for p in summary.errors}
    assert summary.imported == 2
    assert "invalid JSON" in reasons["half-written"]
    assert "started_at" in reasons["no-start"]
    assert any(p.path.endswith("transcript.jsonl:2") for p in summary.errors)
    assert len(record(log, "bad-line")["turns"]) == 1


def test_calls_in_progress_are_skipped_unless_asked(tmp_path: Path, log: EventLog) -> None:
    write_call(tmp_path, "live", ended=False)
    assert import_path(tmp_path, log).skipped == 1
    assert log.max_seq() == 0
    assert import_path(tmp_path, log, include_active=True).imported == 1
    assert "ended_at" not in record(log, "live")
    write_call(tmp_path, "live")  # the call ends; the next import completes it
    assert import_path(tmp_path, log).imported == 1
    assert record(log, "live")["status"] == "completed"


def _exported(log: EventLog, fmt: str) -> bytes:
    records = [fold_call(events) for events in log.iter_completed_calls()]
    return b"".join(export_chunks((r for r in records if r), fmt=fmt))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_a_patterdash_export_round_trips_into_a_fresh_log(tmp_path: Path, log: EventLog, fmt: str) -> None:
    from patterdash.core.events import validate_event

    for cid in ("c1", "c2"):
        log.append([[validate_event(ev, now=T0) for ev in full_call(cid)]], known_seq=log.max_seq())
    export = tmp_path / f"calls.{fmt}"
    export.write_bytes(_exported(log, fmt))
    fresh = EventLog(tmp_path / "fresh.db")
    try:
        assert import_path(export, fresh).imported == 2
        assert import_path(export, fresh).events == 0
        for cid in ("c1", "c2"):
            before, after = record(log, cid), record(fresh, cid)
            keys = ("caller", "callee", "direction", "status", "started_at", "ended_at", "metrics", "transcript")
            assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
            assert [e["kind"] for e in after["events"]] == ["tool_call"]
    finally:
        fresh.close()


def _sdk_record(call_id: str, ended: float, **extra: Any) -> dict[str, Any]:
    """A call record as the Patter SDK's dashboard exports it (its get_calls shape)."""
    return {
        "call_id": call_id,
        "ended_at": ended,
        "transcript": [{"role": "user", "text": "hi", "timestamp": ended - 5}],
        "turns": [],
        "caller": "+15550001111",
        "callee": "+15550002222",
        "direction": "outbound",
        "started_at": ended - 30,
        "status": "completed",
        "metrics": metrics(call_id),
        **extra,
    }


def test_a_patter_sdk_export_keeps_identity_status_and_time_order(tmp_path: Path, log: EventLog) -> None:
    newest_first = [
        _sdk_record("new", T0 + 200),
        _sdk_record("busy", T0 + 100, status="busy", metrics=None, transcript=[]),
        _sdk_record("old", T0),
    ]
    export = tmp_path / "patter_calls.json"
    export.write_bytes(orjson.dumps(newest_first))
    assert import_path(export, log).imported == 3
    completed = [events[0].call_id for events in log.iter_completed_calls()]
    assert completed == ["old", "busy", "new"]  # the ring lists calls by completion: oldest imported first
    assert record(log, "busy")["status"] == "busy"
    assert record(log, "new")["direction"] == "outbound"
    assert record(log, "new")["started_at"] == T0 + 170


def test_export_items_that_are_not_calls_are_errors(tmp_path: Path, log: EventLog) -> None:
    rows = [
        _sdk_record("ok", T0),
        {"call_id": "t", "turn_index": 0, "user_text": "x", "agent_text": "y"},
        {"hello": "world"},
        {"call_id": "unfinished", "started_at": T0},
    ]
    export = tmp_path / "mixed.ndjson"
    export.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n{broken\n")
    summary = import_path(export, log)
    assert summary.imported == 1
    reasons = " | ".join(p.reason for p in summary.errors)
    assert "per-turn" in reasons and "not a call record" in reasons and "ended_at" in reasons
    assert "invalid JSON" in reasons
    assert len(summary.errors) == 4


def test_native_event_dumps_import_with_their_ids(tmp_path: Path, log: EventLog) -> None:
    events = [{**ev, "id": f"e{i}", "seq": 100 + i} for i, ev in enumerate(full_call("n1"))]
    dump = tmp_path / "events.ndjson"
    dump.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    assert import_path(dump, log).events == 6
    assert [ev.id for ev in log.events_for_calls(["n1"])] == [f"e{i}" for i in range(6)]


runner = CliRunner()


def test_the_cli_prints_a_summary_and_the_errors(tmp_path: Path, db_path: Path) -> None:
    write_call(tmp_path, "cli-1")
    broken = call_dir(tmp_path, "broken")
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_text("[1, 2")
    result = runner.invoke(app, ["import", str(tmp_path), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "imported 1 calls" in result.stdout and "errors 1" in result.stdout
    assert "broken/metadata.json" in result.stderr
    again = runner.invoke(app, ["import", str(tmp_path), "--db", str(db_path), "--json"])
    assert orjson.loads(again.stdout)["imported"] == 0


def test_the_cli_fails_with_one_line_on_bad_paths(tmp_path: Path, db_path: Path) -> None:
    missing = runner.invoke(app, ["import", str(tmp_path / "nope"), "--db", str(db_path)])
    assert missing.exit_code == 1 and "no such file" in missing.stderr
    empty = runner.invoke(app, ["import", str(tmp_path), "--db", str(db_path)])
    assert empty.exit_code == 1 and "no metadata.json" in empty.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("<html>")
    bad = runner.invoke(app, ["import", str(junk), "--db", str(db_path)])
    assert bad.exit_code == 1 and "neither JSON nor NDJSON" in bad.stderr


async def test_a_running_server_shows_imported_calls_within_a_second(
    start_client: StartClient, tmp_path: Path, db_path: Path
) -> None:
    client: TestClient[Any, Any] = await start_client()
    write_call(tmp_path, "while-serving")
    other = EventLog(db_path)  # another connection, as the CLI in another process would use
    try:
        await asyncio.to_thread(import_path, tmp_path, other)
    finally:
        other.close()
    started = time.monotonic()
    while not (calls := await (await client.get("/api/dashboard/calls")).json()):
        assert time.monotonic() - started < 1.5, "server did not pick up the import"
        await asyncio.sleep(0.05)
    assert [c["call_id"] for c in calls] == ["while-serving"]
    assert calls[0]["metrics"]["cost"]["total"] == 0.1


def test_calls_deleted_in_the_patter_dashboard_stay_deleted(tmp_path: Path, log: EventLog) -> None:
    for cid in ("kept", "removed"):
        write_call(tmp_path, cid)
    (tmp_path / ".deleted_call_ids.json").write_text('{"deleted_call_ids": ["removed"]}')
    summary = import_path(tmp_path / "calls", log)
    assert (summary.imported, summary.skipped) == (1, 1)
    assert [events[0].call_id for events in log.iter_completed_calls()] == ["kept"]


def test_a_metadata_metrics_object_is_used_first_as_patters_hydrate_does(tmp_path: Path, log: EventLog) -> None:
    meta = start_metadata("CA-m", ended_at=iso(T0 + 42), duration_ms=None, status="completed")
    meta["metrics"] = metrics("CA-m", duration=42.0, cost=0.37, turns=2)  # what CallLogger writes when it has one
    write_json(call_dir(tmp_path, "CA-m") / "metadata.json", meta)
    assert import_path(tmp_path, log).errors == []
    call = record(log, "CA-m")
    assert call["metrics"]["cost"]["total"] == 0.37
    assert call["metrics"]["latency_avg"]["total_ms"] == 650.0
    assert call["metrics"]["duration_seconds"] == 42.0
    assert len(call["turns"]) == 2


def _every_kind_of_call(log: EventLog) -> list[str]:
    """Calls that end each way: normally with transcript and metrics, busy with a SIP code, lost mid-call."""
    from patterdash.core.events import validate_event
    from tests.factories import event

    calls = [
        full_call("done", ts=T0),
        [
            event("call_initiated", "busy", {"caller": "+15550001111", "callee": "+15550003333"}, ts=T0 + 10),
            event("call_status", "busy", {"status": "busy", "reason": "user busy", "sip_code": 486}, ts=T0 + 14),
        ],
        [
            event("call_start", "dropped", {"caller": "+15550001111", "callee": "+15550002222"}, ts=T0 + 20),
            event("transcript_line", "dropped", {"turnIndex": 0, "role": "user", "text": "hello?"}, ts=T0 + 21.5),
            event("transcript_line", "dropped", {"turnIndex": 0, "role": "assistant", "text": "hi"}, ts=T0 + 23.25),
            event("call_status", "dropped", {"status": "lost", "reason": "no event for 600 s"}, ts=T0 + 900),
        ],
    ]
    for batch in calls:
        log.append([[validate_event(ev, now=T0) for ev in batch]], known_seq=log.max_seq())
    return ["done", "busy", "dropped"]


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_an_export_imports_back_to_the_same_records(tmp_path: Path, log: EventLog, fmt: str) -> None:
    ids = _every_kind_of_call(log)
    export = tmp_path / f"calls.{fmt}"
    export.write_bytes(_exported(log, fmt))
    fresh = EventLog(tmp_path / "fresh.db")
    try:
        assert import_path(export, fresh).errors == []
        for cid in ids:
            assert record(fresh, cid) == record(log, cid), cid  # reason, sip_code, line times, metrics: all of it
    finally:
        fresh.close()


@pytest.mark.parametrize("content", [b"", b"  \n", b"[]", b'{"calls": []}'])
def test_an_empty_import_is_an_error_unless_allowed_and_creates_no_log(
    tmp_path: Path, db_path: Path, content: bytes
) -> None:
    from tests.cli_helpers import invoke, one_line_error

    empty = tmp_path / "empty.json"
    empty.write_bytes(content)
    result = invoke("import", empty, "--db", db_path)
    assert result.exit_code == 1 and "holds no calls" in one_line_error(result)
    assert not db_path.exists()
    allowed = invoke("import", empty, "--allow-empty", "--db", db_path)
    assert allowed.exit_code == 0 and "imported 0 calls" in allowed.stdout
