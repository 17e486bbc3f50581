"""Retention: ``patterdash purge --before`` and ``--retain-days`` purge old calls for good, in bounded
batches, shrinking the file; a running server drops them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from patterdash.store import open_store
from tests.cli_helpers import append_events, invoke, one_line_error
from tests.conftest import StartClient
from tests.factories import full_call

DAY = 86_400.0


def _log_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.iterdir() if p.is_file() and p.name.startswith(db.name))


def test_purge_before_erases_old_calls_in_batches_and_the_file_shrinks(db_path: Path) -> None:
    old = time.time() - 30 * DAY
    events = [ev for n in range(450) for ev in full_call(f"old-{n}", ts=old + n)]  # three batches of 200
    events += full_call("recent", ts=time.time() - 60)
    append_events(db_path, events)
    size = _log_bytes(db_path)
    result = invoke("purge", "--before", "2000-01-01", "--db", db_path)
    assert result.exit_code == 0 and "purged 0 call(s)" in result.stdout
    cutoff = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * DAY))
    result = invoke("purge", "--before", cutoff, "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert "purged 450 call(s), 2700 event(s)" in result.stdout
    assert "MiB ->" in result.stdout
    after = _log_bytes(db_path)
    assert after < size / 4, (size, after)  # measured: about 2.4 MiB -> 0.1 MiB
    log = open_store(db_path, create=False)
    try:
        assert log.events_for_calls(["old-0", "old-449"]) == []
        assert log.call_summary("recent") is not None and log.events_for_calls(["recent"])
        purged = [e for e in log.read_after(0) if e.type == "calls_purged"]
        assert sorted(len(e.data["call_ids"]) for e in purged) == [50, 200, 200]
    finally:
        log.close()


def test_purge_refuses_a_bad_date(db_path: Path) -> None:
    append_events(db_path, full_call("x"))
    assert "--before soon" in one_line_error(invoke("purge", "--before", "soon", "--db", db_path))


async def test_a_server_with_retain_days_purges_expired_calls(start_client: StartClient, db_path: Path) -> None:
    client = await start_client(retain_days=7, retain_every=0.05)
    events = full_call("ancient", ts=time.time() - 30 * DAY) + full_call("fresh", ts=time.time() - 60)
    assert (await client.post("/api/events", json=events)).status == 200
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (await client.get("/api/dashboard/calls/ancient")).status != 404:
        assert loop.time() < deadline, "the expired call was not purged"
        await asyncio.sleep(0.05)
    assert (await client.get("/api/dashboard/calls/fresh")).status == 200
    log = open_store(db_path, create=False)
    try:
        assert log.events_for_calls(["ancient"]) == [] and log.call_summary("ancient") is None
    finally:
        log.close()


async def test_background_retention_shrinks_a_new_log_without_a_vacuum(
    start_client: StartClient, db_path: Path
) -> None:
    old = time.time() - 30 * DAY
    append_events(db_path, [ev for n in range(450) for ev in full_call(f"old-{n}", ts=old + n)])
    size = _log_bytes(db_path)
    client = await start_client(retain_days=7, retain_every=0.05)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (await client.get("/api/dashboard/calls/old-449")).status != 404:
        assert loop.time() < deadline, "the expired calls were not purged"
        await asyncio.sleep(0.05)
    # freed pages went back to the file system with each bounded batch (auto_vacuum = INCREMENTAL)
    after = _log_bytes(db_path)
    assert after < size / 3, (size, after)  # measured: 2.2 MB -> 0.1 MB
