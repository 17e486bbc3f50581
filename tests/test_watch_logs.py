"""``serve --watch-logs``: calls followed live from a Patter call-log tree, through partial writes and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from patterdash.sources.watch import LogFollower
from patterdash.store.sqlite import EventLog
from patterdash.web.keys import SERVICE
from tests.calllogs import T0, append_jsonl, call_dir, end_metadata, start_metadata, turn_line, write_call, write_json
from tests.conftest import StartClient

Follow = Callable[[TestClient[Any, Any], Path], Awaitable[LogFollower]]


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Poll ``check`` until true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def get(client: TestClient[Any, Any], path: str) -> Any:
    """GET a JSON route."""
    return await (await client.get(path)).json()


async def active_ids(client: TestClient[Any, Any]) -> list[str]:
    """Ids of the active calls."""
    return [c["call_id"] for c in await get(client, "/api/dashboard/active")]


async def completed_ids(client: TestClient[Any, Any]) -> list[str]:
    """Ids of the completed calls in the ring, newest first."""
    return [c["call_id"] for c in await get(client, "/api/dashboard/calls")]


@pytest.fixture
async def follow() -> AsyncIterator[Follow]:
    """Run a LogFollower against a server's service; cancelled at the end (or by ``stop``)."""
    tasks: list[asyncio.Task[None]] = []

    async def start(client: TestClient[Any, Any], root: Path) -> LogFollower:
        follower = LogFollower(root, client.server.app[SERVICE].append)
        tasks.append(asyncio.create_task(follower.run(tick=0.2, debounce_ms=100)))
        return follower

    yield start
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_call_is_followed_from_start_through_turns_to_end(
    start_client: StartClient, follow: Follow, tmp_path: Path
) -> None:
    client = await start_client()
    await follow(client, tmp_path)
    where = call_dir(tmp_path, "CA1")
    meta = start_metadata("CA1")
    write_json(where / "metadata.json", meta)
    await wait_until(lambda: _eq(active_ids(client), ["CA1"]))
    for i in range(2):
        append_jsonl(where / "transcript.jsonl", turn_line(i, T0 + 5 * (i + 1)))
    await wait_until(lambda: _turns(client, "CA1", 2))
    line = json.dumps(turn_line(2, T0 + 15))
    with (where / "transcript.jsonl").open("a") as fh:
        fh.write(line[:25])  # the agent is mid-write
    append_jsonl(where / "events.jsonl", {"ts": "2026-01-01T00:00:16.000Z", "type": "barge_in", "data": {}})
    await wait_until(lambda: _events(client, "CA1", 1))
    assert len((await get(client, "/api/dashboard/calls/CA1"))["turns"]) == 2  # the partial line waits
    with (where / "transcript.jsonl").open("a") as fh:
        fh.write(line[25:] + "\n")
    await wait_until(lambda: _turns(client, "CA1", 3))
    write_json(where / "metadata.json", end_metadata(meta, ended=T0 + 60, turns=3))
    await wait_until(lambda: _eq(completed_ids(client), ["CA1"]))
    call = await get(client, "/api/dashboard/calls/CA1")
    assert (call["status"], call["ended_at"], call["metrics"]["cost"]["total"]) == ("completed", T0 + 60, 0.1)
    assert len(call["metrics"]["turns"]) == 3
    assert [line["text"] for line in call["transcript"]][-2:] == ["question 2", "answer 2"]
    assert await active_ids(client) == []


async def _eq(value: Awaitable[Any], expected: Any) -> bool:
    return (await value) == expected


async def _turns(client: TestClient[Any, Any], call_id: str, n: int) -> bool:
    resp = await client.get(f"/api/dashboard/calls/{call_id}")
    return resp.status == 200 and len((await resp.json())["turns"]) == n


async def _events(client: TestClient[Any, Any], call_id: str, n: int) -> bool:
    resp = await client.get(f"/api/dashboard/calls/{call_id}")
    return resp.status == 200 and len((await resp.json())["events"]) == n


async def test_existing_calls_are_scanned_at_start(start_client: StartClient, follow: Follow, tmp_path: Path) -> None:
    for i in range(5):
        write_call(tmp_path, f"done-{i}", started=T0 + i)
    write_call(tmp_path, "live", ended=False)
    client = await start_client()
    await follow(client, tmp_path / "calls")
    await wait_until(lambda: _len(completed_ids(client), 5))
    assert await active_ids(client) == ["live"]


async def _len(value: Awaitable[list[str]], n: int) -> bool:
    return len(await value) == n


async def test_half_written_metadata_waits_for_the_next_change(
    start_client: StartClient, follow: Follow, tmp_path: Path
) -> None:
    client = await start_client()
    await follow(client, tmp_path)
    broken = call_dir(tmp_path, "slow-writer")
    broken.mkdir(parents=True)
    text = json.dumps(start_metadata("slow-writer"))
    (broken / "metadata.json").write_text(text[:40])  # not atomic: a reader can see this
    write_call(tmp_path, "marker", ended=False)
    await wait_until(lambda: _eq(active_ids(client), ["marker"]))
    assert "slow-writer" not in await active_ids(client)
    (broken / "metadata.json").write_text(text)
    await wait_until(lambda: _eq(_sorted(active_ids(client)), ["marker", "slow-writer"]))


async def _sorted(value: Awaitable[list[str]]) -> list[str]:
    return sorted(await value)


async def test_a_corrupt_transcript_line_is_skipped_not_fatal(
    start_client: StartClient, follow: Follow, tmp_path: Path
) -> None:
    where = write_call(tmp_path, "noisy", ended=False, turns=1)
    with (where / "transcript.jsonl").open("a") as fh:
        fh.write("{garbage\n")
    append_jsonl(where / "transcript.jsonl", turn_line(1, T0 + 10))
    client = await start_client()
    await follow(client, tmp_path)
    await wait_until(lambda: _turns(client, "noisy", 2))


async def test_a_restart_resumes_without_duplicates(
    start_client: StartClient, follow: Follow, tmp_path: Path, db_path: Path
) -> None:
    where = write_call(tmp_path, "CA9", ended=False, turns=2)
    client = await start_client()
    await follow(client, tmp_path)
    await wait_until(lambda: _turns(client, "CA9", 2))
    await client.close()  # server and follower go down mid-call
    for i in range(2, 4):
        append_jsonl(where / "transcript.jsonl", turn_line(i, T0 + 5 * (i + 1)))
    meta = json.loads((where / "metadata.json").read_text())
    write_json(where / "metadata.json", end_metadata(meta, ended=T0 + 60, turns=4))
    again = await start_client()
    await follow(again, tmp_path)
    await wait_until(lambda: _eq(completed_ids(again), ["CA9"]))
    log = EventLog(db_path)
    try:
        types = [ev.type for ev in log.events_for_calls(["CA9"])]
    finally:
        log.close()
    assert types.count("call_start") == 1 and types.count("call_end") == 1
    assert types.count("turn_complete") == 4 and types.count("call_event") == 1


@pytest.mark.slow
def test_serve_watch_logs_end_to_end(tmp_path: Path) -> None:
    """The real CLI: ``patterdash serve --watch-logs DIR`` shows a call written after it started."""
    logs = tmp_path / "patter"
    logs.mkdir()
    cmd = [sys.executable, "-m", "patterdash", "serve", "--port", "0", "--db", str(tmp_path / "p.db")]
    proc = subprocess.Popen(
        [*cmd, "--watch-logs", str(logs)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[3].rstrip("/")
        write_call(logs, "e2e-call")
        asyncio.run(_wait_for_call(url, "e2e-call"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


async def _wait_for_call(url: str, call_id: str) -> None:
    async with aiohttp.ClientSession() as session:

        async def listed() -> bool:
            async with session.get(f"{url}/api/dashboard/calls") as resp:
                return call_id in [c["call_id"] for c in await resp.json()]

        await wait_until(listed, within=15)


def test_watch_logs_must_be_a_directory(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from patterdash_cli.main import app

    not_dir = tmp_path / "file.txt"
    not_dir.write_text("x")
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "x.db"), "--watch-logs", str(not_dir)])
    assert result.exit_code == 1
    assert "not a directory" in result.stderr
    assert os.path.exists(not_dir)
