"""Erasure on request: ``patterdash forget`` removes every trace of the matching calls, from the
database files (WAL included), a running server's memory and its SSE replay buffer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from patterdash.recordings import RecordingStore
from patterdash.store import open_store
from tests.cli_helpers import invoke, one_line_error
from tests.conftest import StartClient
from tests.factories import event, metrics

NUMBER = "+14155550142"


def _call(call_id: str, caller: str) -> list[dict[str, Any]]:
    return [
        event("call_start", call_id, {"caller": caller, "callee": "+15550002222"}, ts=1_700_000_000),
        event("transcript_line", call_id, {"turnIndex": 0, "role": "user", "text": f"I am {caller}"}, ts=1_700_000_001),
        event("call_end", call_id, {"metrics": metrics(call_id, turns=1)}, ts=1_700_000_030),
    ]


def _bytes(folder: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name.startswith("patterdash.db")
    )


async def _until_gone(client: Any, call_id: str) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await client.get(f"/api/dashboard/calls/{call_id}")).status != 404:
        assert loop.time() - started < 1.0, "the server still shows the erased call after 1 s"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_forget_by_number_erases_every_trace_and_a_running_server_drops_it(
    start_client: StartClient, db_path: Path
) -> None:
    client = await start_client()
    batch = _call("victim-1", NUMBER) + _call("victim-2", NUMBER) + _call("bystander", "+15550003333")
    assert (await client.post("/api/events", json=batch)).status == 200
    async with client.get("/api/dashboard/events?last_event_id=0") as stream:  # the replay buffer holds them
        assert NUMBER.encode() in await stream.content.readuntil(b"event: call_end")
    assert NUMBER.encode() in _bytes(db_path.parent)
    recordings = RecordingStore(Path(f"{db_path}.recordings"), max_bytes=1000)
    name = recordings.save("victim-1", b"OggS audio", content_type="audio/ogg")["file"]
    kept = recordings.save("bystander", b"OggS other", content_type="audio/ogg")["file"]
    recording = recordings.root / name

    result = await asyncio.to_thread(invoke, "forget", "--number", NUMBER, "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert "erased 2 call(s): victim-1, victim-2" in result.stdout
    assert "removed 6 event(s), 2 call summary row(s) and 1 recording(s)" in result.stdout
    assert not recording.exists()

    await _until_gone(client, "victim-1")
    assert (await client.get("/api/dashboard/calls/victim-2")).status == 404
    assert (await client.get("/api/dashboard/calls/bystander")).status == 200
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert [c["call_id"] for c in calls] == ["bystander"]
    async with client.get("/api/dashboard/events?last_event_id=0") as stream:
        replay = await stream.content.readuntil(b"event: calls_purged")
        replay += await stream.content.readuntil(b"\n\n")
    assert NUMBER.encode() not in replay and b"victim-1" in replay  # the event names ids only
    on_disk = await asyncio.to_thread(_bytes, db_path.parent)
    digits = NUMBER.removeprefix("+").encode()
    assert digits not in on_disk, "the number is still in the database files"
    assert b"+15550003333" in on_disk  # the grep reads the right bytes
    assert (recordings.root / kept).exists()
    await client.close()
    assert digits not in await asyncio.to_thread(_bytes, db_path.parent)


def test_forget_by_call_id_and_the_log_keeps_only_the_ids(db_path: Path, tmp_path: Path) -> None:
    from tests.cli_helpers import append_events

    append_events(db_path, _call("one", NUMBER) + _call("two", "+15550003333"))
    result = invoke("forget", "--call-id", "one", "--call-id", "unknown", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert "erased 1 call(s): one" in result.stdout
    log = open_store(db_path, create=False)
    try:
        assert log.events_for_calls(["one"]) == []
        assert log.call_summary("one") is None
        purged = [e for e in log.read_after(0) if e.type == "calls_purged"]
        assert [e.data for e in purged] == [{"call_ids": ["one"], "reason": "erasure request"}]
    finally:
        log.close()
    again = invoke("forget", "--call-id", "one", "--db", db_path)
    assert again.exit_code == 1 and "no call matches" in one_line_error(again)


def test_forget_needs_a_target(db_path: Path) -> None:
    assert "--call-id ID or --number" in one_line_error(invoke("forget", "--db", db_path))


async def test_a_purge_leaves_the_history_rollups_too(start_client: StartClient, db_path: Path) -> None:
    client = await start_client()
    batch = _call("victim", NUMBER) + _call("bystander", "+15550003333")
    assert (await client.post("/api/events", json=batch)).status == 200
    span = "from=1699990000&to=1700010000"
    before = await (await client.get(f"/api/dashboard/history?{span}")).json()
    assert before["totals"]["calls"] == 2
    result = await asyncio.to_thread(invoke, "forget", "--call-id", "victim", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    await _until_gone(client, "victim")
    after = await (await client.get(f"/api/dashboard/history?{span}")).json()
    assert after["totals"]["calls"] == 1
    log = open_store(db_path, create=False)
    try:
        assert [f.call_id for f in log.call_facts(0, 2e9)] == ["bystander"]
    finally:
        log.close()
