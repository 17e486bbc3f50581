"""Faults under a real server: damaged files at start-up, disk full, read-only files, a locked
database, clocks going backwards. Every fault gives a clear error, loses no acknowledged
event, and appends nothing it did not acknowledge.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from patterdash.core.events import validate_event
from patterdash.service import Service
from patterdash.settings import Settings
from tests.reliability_helpers import (
    IngestTally,
    ServerProcess,
    call_events,
    drive_ingest,
    full_fold,
    integrity,
    log_ids,
    record_figure,
    run_cli,
    wait_until_async,
)

_JSON = {"Content-Type": "application/json"}

# -- damaged files at start-up -------------------------------------------------------


@pytest.fixture(scope="module")
def crashed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log left by a SIGKILLed server: main file plus a WAL holding committed transactions."""
    workdir = tmp_path_factory.mktemp("crashed")
    db = workdir / "crashed.db"
    server = ServerProcess(db)
    try:
        server.start()

        async def fill() -> None:
            async with aiohttp.ClientSession() as session:
                for n in range(60):
                    batch = call_events(f"k{n}", ts=1_700_000_000.0 + n)
                    async with session.post(
                        f"{server.base_url}/api/events", data=orjson.dumps(batch), headers=_JSON
                    ) as resp:
                        assert resp.status == 200

        asyncio.run(fill())
        server.kill()
    finally:
        server.stop()
    assert os.path.getsize(f"{db}-wal") > 32
    return db


def _frames_of_current_generation(wal: Path) -> list[int]:
    """Offsets of the WAL's frames that carry the header's salts (the live generation)."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    offsets = []
    for off in range(32, len(data) - 24 - page_size + 1, 24 + page_size):
        if data[off + 8 : off + 16] == salts:
            offsets.append(off)
    return offsets


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def _damage_frame_before_last_commit(db: Path) -> None:
    wal = Path(f"{db}-wal")
    frames = _frames_of_current_generation(wal)
    assert len(frames) > 4
    _overwrite(wal, frames[len(frames) // 2] + 24 + 64, os.urandom(64))


def _truncate_main(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _checkpointed(db: Path) -> None:
    """Fold the WAL into the main file and remove it, as a clean shutdown leaves the log."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    Path(f"{db}-wal").unlink(missing_ok=True)


# name -> (with the crash's WAL?, damage)
DAMAGES: dict[str, tuple[bool, Callable[[Path], None]]] = {
    "main file is random bytes": (True, lambda db: _overwrite(db, 0, os.urandom(db.stat().st_size))),
    "main header zeroed": (True, lambda db: _overwrite(db, 0, bytes(100))),
    "main file cut in half (clean log)": (False, _truncate_main),
    "main file cut in half (with WAL)": (True, _truncate_main),
    "main file emptied, WAL kept": (True, lambda db: os.truncate(db, 0)),
    "main file deleted, WAL kept": (True, lambda db: db.unlink()),
    "WAL header damaged": (True, lambda db: _overwrite(Path(f"{db}-wal"), 0, os.urandom(32))),
    "WAL cut inside its header": (True, lambda db: os.truncate(f"{db}-wal", 20)),
    "WAL frame damaged before the last commit": (True, _damage_frame_before_last_commit),
}


def _copy_log(src: Path, db: Path, *, with_wal: bool) -> None:
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{src}{suffix}", f"{db}{suffix}")
    if not with_wal:
        _checkpointed(db)


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_log_refuses_to_start_with_one_line(damage: str, crashed_log: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with_wal, spoil = DAMAGES[damage]
    _copy_log(crashed_log, db, with_wal=with_wal)
    spoil(db)
    wal = Path(f"{db}-wal")
    wal_before = wal.read_bytes() if wal.exists() else None

    result = run_cli("serve", "--port", "0", "--db", str(db), cwd=tmp_path)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "patterdash is serving" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert db.name in errors[0]
    # nothing was started empty over the data: the WAL is left exactly as found, except where
    # SQLite itself opened the file and, closing, checkpointed intact WAL frames into it
    if damage != "main file cut in half (with WAL)":
        assert (wal.read_bytes() if wal.exists() else None) == wal_before


@pytest.mark.slow
def test_undamaged_crashed_log_opens_with_every_event(crashed_log: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    _copy_log(crashed_log, db, with_wal=True)
    server = ServerProcess(db)
    try:
        server.start()
        assert server.health()["seq"] == 60 * 6
    finally:
        server.stop()
    record_figure("faults.damaged_files_refused", len(DAMAGES))


# -- disk full, read-only files --------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs: a real disk that fills up (needs root; skipped elsewhere)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(mnt)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


async def _post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, dict[str, Any], str]:
    async with session.post(url, data=orjson.dumps(body), headers=_JSON) as resp:
        return resp.status, await resp.json(), resp.headers.get("Retry-After", "")


async def _reads_work(session: aiohttp.ClientSession, base: str) -> None:
    for path in ("/api/dashboard/calls?limit=5", "/api/dashboard/active", "/api/dashboard/aggregates", "/healthz"):
        async with session.get(f"{base}{path}") as resp:
            assert resp.status == 200, path
    async with session.get(f"{base}/api/dashboard/calls/c-1-0") as resp:
        assert resp.status in (200, 404)


async def _fault_round(server: ServerProcess, heal: Callable[[], None], cause: str) -> IngestTally:
    """Ingest until the fault bites; check 503 + reads + health; heal; check recovery."""
    tally = IngestTally()
    stop = asyncio.Event()
    driver = asyncio.create_task(drive_ingest(server.base_url, tally, stop, workers=4))
    await wait_until_async(lambda: "http 503" in tally.errors, within=90, what=f"a 503 from {cause}")
    stop.set()
    await asyncio.wait_for(driver, timeout=30)
    assert set(tally.errors) == {"http 503"}, tally.errors  # no 500s, no dropped connections
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        # while the fault lasts an append answers 503 with the cause; some may still fit (SQLite
        # reuses WAL space after a checkpoint), and those are acknowledged and kept
        url = f"{server.base_url}/api/events"
        for n in range(500):
            status, body, retry = await _post(session, url, call_events(f"during-{n}", ts=1.0))
            if status == 200:
                tally.acked.update(body["ids"])
                continue
            assert (status, body["error"], retry) == (503, "event log unavailable", "1")
            assert cause in body["detail"]
            break
        else:
            raise AssertionError("the fault never answered 503")
        assert server.health()["writable"] is False
        await _reads_work(session, server.base_url)
        assert cause in server.stderr()

        heal()
        for n in range(100):
            status, body, _ = await _post(session, url, call_events(f"after-{n}", ts=2.0))
            if status == 200:
                tally.acked.update(body["ids"])
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("appends did not recover after the fault was healed")
        assert server.health()["writable"] is True
    return tally


@pytest.mark.slow
async def test_disk_full_answers_503_keeps_reads_and_recovers(small_tmpfs: Path) -> None:
    db = small_tmpfs / "full.db"
    server = ServerProcess(db, workdir=small_tmpfs.parent)

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=64M", str(small_tmpfs)], check=True)

    try:
        server.start()
        tally = await _fault_round(server, grow, "disk is full")
        code = server.stop()
        assert code == 0, server.stderr()
    finally:
        server.stop()
    ids = log_ids(db)
    assert set(ids) == tally.acked and len(ids) == len(tally.acked)  # every ack kept, no 503 appended
    assert integrity(db) == "ok"
    record_figure("faults.disk_full.events_acknowledged", len(tally.acked))
    record_figure("faults.disk_full.requests_refused_503", tally.errors["http 503"])


def _chattr(flag: str, *paths: Path, check: bool = True) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=check, capture_output=True)


@pytest.mark.slow
async def test_read_only_files_answer_503_keep_reads_and_recover(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    server = ServerProcess(db)
    files = [db, Path(f"{db}-wal")]  # not -shm: it is mmapped, and SQLite may keep it writable
    try:
        server.start()
        async with aiohttp.ClientSession() as session:
            status, _, _ = await _post(session, f"{server.base_url}/api/events", call_events("before", ts=0.5))
            assert status == 200
        try:
            _chattr("+i", *files)  # immutable: even root cannot write
        except (OSError, subprocess.CalledProcessError) as e:
            pytest.skip(f"cannot make files immutable here: {e}")
        try:
            tally = await _fault_round(server, lambda: _chattr("-i", *files), "disk I/O error")
        finally:
            _chattr("-i", *files, check=False)
        tally.acked.update(f"before:{n}" for n in range(6))
        assert server.stop() == 0
    finally:
        server.stop()
    assert set(log_ids(db)) == tally.acked
    assert integrity(db) == "ok"
    record_figure("faults.read_only.requests_refused_503", tally.errors["http 503"])


# -- locked database ----------------------------------------------------------------


def _hold_exclusive(db: Path, seconds: float, held: threading.Event, release: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        release.wait(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("hold", [1.5, 7.0], ids=["shorter-than-busy-timeout", "longer-than-busy-timeout"])
async def test_database_locked_by_another_writer_waits_or_503s_and_loses_nothing(hold: float, tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    server = ServerProcess(db)
    tally = IngestTally()
    try:
        server.start()
        stop = asyncio.Event()
        driver = asyncio.create_task(drive_ingest(server.base_url, tally, stop, workers=4, pause=0.02))
        await wait_until_async(lambda: len(tally.acked) > 50, within=20, what="ingest")
        held, release = threading.Event(), threading.Event()
        locker = threading.Thread(target=_hold_exclusive, args=(db, hold, held, release))
        locker.start()
        try:
            assert await asyncio.to_thread(held.wait, 10)
            async with aiohttp.ClientSession() as session:
                await _reads_work(session, server.base_url)  # readers are not blocked by a WAL writer lock
            await asyncio.to_thread(locker.join, hold + 10)
        finally:
            release.set()
            locker.join(10)
        acked_at_release = len(tally.acked)
        await wait_until_async(lambda: len(tally.acked) > acked_at_release + 50, within=20, what="recovery")
        stop.set()
        await asyncio.wait_for(driver, timeout=30)
        assert server.stop() == 0
    finally:
        server.stop()
    assert set(tally.errors) <= {"http 503"}, tally.errors
    if hold < 5:
        assert not tally.errors  # the 5 s busy timeout absorbed the lock: requests waited
    else:
        assert tally.errors.get("http 503", 0) > 0
    assert set(log_ids(db)) == tally.acked
    record_figure(f"faults.locked_{hold}s.events_acknowledged", len(tally.acked))
    record_figure(f"faults.locked_{hold}s.requests_503", tally.errors.get("http 503", 0))


# -- clock going backwards ------------------------------------------------------------


async def test_event_times_going_backwards_order_by_seq_and_break_nothing(
    start_client: Callable[..., Any], tmp_path: Path
) -> None:
    client: TestClient[Any, Any] = await start_client()
    base = 1_700_000_000.0
    late = call_events("clock-a", ts=base + 3600)  # completes first, with the later clock
    early = call_events("clock-b", ts=base)  # completes second, an hour "earlier"
    for ev, ts in zip(early, [base + 50, base + 40, base + 30, base + 20, base + 10, base], strict=True):
        ev["ts"] = ts  # each event older than the one before it
    for batch in (late, early):
        resp = await client.post("/api/events", json=batch)
        assert resp.status == 200
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert [c["call_id"] for c in calls] == ["clock-b", "clock-a"]  # newest by seq, not by ts
    b = calls[0]
    assert b["status"] == "completed"
    assert [line["text"] for line in b["transcript"]] == ["q0", "hi", "q1", "hi"]
    agg = await (await client.get("/api/dashboard/aggregates")).json()
    assert agg["total_calls"] == 2
    for fmt in ("csv", "json"):
        resp = await client.get(f"/api/dashboard/export/calls?format={fmt}&scope=all")
        assert resp.status == 200
    # SSE replay from 0 comes in seq order whatever the timestamps
    async with client.get("/api/dashboard/events", headers={"Last-Event-ID": "0"}) as resp:
        seen: list[int] = []
        async with asyncio.timeout(10):
            async for line in resp.content:
                if line.startswith(b"id: "):
                    seen.append(int(line[4:]))
                if len(seen) == 12:
                    break
    assert seen == sorted(seen) == list(range(1, 13))
    await client.close()
    # a fresh process rebuilds the same state
    db = tmp_path / "patterdash.db"
    again: TestClient[Any, Any] = await start_client()
    assert await (await again.get("/api/dashboard/calls")).json() == calls
    fresh = full_fold(db)
    assert fresh["ring"] == calls


async def test_a_live_call_with_timestamps_hours_behind_is_not_closed_as_lost(db_path: Path) -> None:
    """Staleness is counted from when events arrive, not from an agent's (wrong) clock."""
    now = [1_700_000_000.0]
    service = Service(Settings(_env_file=None, db=db_path, stale_after=60), clock=lambda: now[0])  # type: ignore[call-arg]
    await service.start()
    try:
        behind = now[0] - 3 * 3600  # the agent's clock runs three hours slow
        await service.append(
            [validate_event({"type": "call_start", "call_id": "slow-clock", "ts": behind}, now=now[0])]
        )
        await service.append([validate_event({"type": "call_start", "call_id": "silent", "ts": now[0]}, now=now[0])])
        now[0] += 30
        await service.append(
            [
                validate_event(
                    {
                        "type": "call_status",
                        "call_id": "slow-clock",
                        "ts": behind + 30,
                        "data": {"status": "in-progress"},
                    },
                    now=now[0],
                )
            ]
        )
        assert await service.close_stale_calls() == []  # nothing silent for 60 s yet
        now[0] += 45
        assert await service.close_stale_calls() == ["silent"]  # 75 s since it was heard from
        assert "slow-clock" in service.projection.active  # heard from 45 s ago, whatever its ts says
    finally:
        await service.stop()
