"""Group commits inline on the event loop, and WAL checkpoints off the commit path (issue 16)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from patterdash.core.events import validate_event
from patterdash.inline import INLINE_MAX_EVENTS, CommitPath
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store.sqlite import EventLog
from tests.factories import full_call


def _valid(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [validate_event(e, now=1.0) for e in raw]


def _lines(call_id: str, count: int, *, start: int = 0) -> list[dict[str, Any]]:
    line = {"turnIndex": 0, "role": "user", "text": "x" * 200}
    return _valid(
        [
            {"id": f"{call_id}:{start + i}", "type": "transcript_line", "call_id": call_id, "data": line}
            for i in range(count)
        ]
    )


async def _started(db_path: Path, **settings: Any) -> Service:
    service = Service(Settings(_env_file=None, db=db_path, **settings))  # type: ignore[call-arg]
    await service.start()
    return service


@pytest.fixture
async def service(db_path: Path) -> AsyncIterator[Service]:
    """A started service past its first two commits, which run on the writer thread: one
    creates the WAL (a flush), the next takes the first look at other connections' writes."""
    one = await _started(db_path)
    for n in range(2):
        await one.append(_lines("warm-up", 1, start=n))
    yield one
    await one.stop()


def _path(service: Service) -> CommitPath:
    assert service.commits is not None
    return service.commits


async def test_a_small_group_commits_on_the_loop_and_a_large_one_on_the_writer_thread(service: Service) -> None:
    path = _path(service)
    inline, threaded = path.inline_commits, path.thread_commits
    seqs = await service.append(_lines("small", INLINE_MAX_EVENTS))
    assert (path.inline_commits, path.thread_commits) == (inline + 1, threaded)
    await service.append(_lines("large", INLINE_MAX_EVENTS + 1))
    assert (path.inline_commits, path.thread_commits) == (inline + 1, threaded + 1)
    # committed, projected and published as before
    assert service.projection.active["small"].last_seq == seqs[-1]
    assert service.bus.head == service.projection.last_seq


async def test_another_connections_write_lock_never_blocks_the_loop(service: Service, db_path: Path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock, as another process's import would
    path = _path(service)
    inline = path.inline_commits
    loop = asyncio.get_running_loop()
    try:
        pending = asyncio.ensure_future(service.append(_lines("held", 1)))
        longest, last = 0.0, loop.time()
        for _ in range(20):  # the loop keeps turning while the append waits on the writer thread
            await asyncio.sleep(0.005)
            longest, last = max(longest, loop.time() - last), loop.time()
        assert not pending.done()
        assert longest < 0.5  # an inline attempt with SQLite's 5 s busy timeout would stall it
    finally:
        other.execute("COMMIT")
        other.close()
    async with asyncio.timeout(10):
        assert await pending
    assert path.inline_commits == inline  # it fell back to the thread


async def test_rows_another_process_wrote_are_read_on_the_thread_and_projected_first(
    service: Service, db_path: Path
) -> None:
    other = EventLog(db_path)
    try:
        theirs = other.append([_valid(full_call("theirs"))], known_seq=0).seqs[0]
    finally:
        other.close()
    path = _path(service)
    threaded = path.thread_commits
    (mine,) = await service.append(_lines("mine", 1))
    assert mine == theirs[-1] + 1
    assert path.thread_commits == threaded + 1  # the foreign rows could be many: not on the loop
    assert "theirs" in service.projection.ring and service.bus.head == mine


async def test_synchronous_full_keeps_every_commit_on_the_writer_thread(db_path: Path) -> None:
    service = await _started(db_path, synchronous="FULL")  # each commit flushes: never on the loop
    try:
        for n in range(3):
            await service.append(_lines("full", 1, start=n))
        assert _path(service).inline_commits == 0
    finally:
        await service.stop()


async def test_checkpoints_run_off_the_commit_path_and_restart_the_wal(service: Service, db_path: Path) -> None:
    assert service.writer_log is not None
    conn = service.writer_log.db.conn  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # no commit checkpoints
    path = _path(service)
    first = _wal_salts(db_path)
    n = 0
    async with asyncio.timeout(60):
        while path.checkpoints < 3:
            await service.append(_lines("long", 4, start=n))
            n += 4
        await service.append(_lines("long", 1, start=n))
    assert path.inline_commits  # (while a checkpoint runs, commits go to the thread)
    # a new WAL generation: it restarted after a checkpoint instead of only growing with the log
    assert _wal_salts(db_path) != first


def _wal_salts(db_path: Path) -> bytes:
    with Path(f"{db_path}-wal").open("rb") as f:  # no locks live on the -wal file itself
        return f.read(24)[16:24]


def test_the_checkpointer_restarts_the_wal_while_writes_keep_coming(db_path: Path) -> None:
    log = EventLog(db_path)
    checkpointer = log.checkpointer()
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.is_set():
            log.append([_lines("busy", 2, start=written[0])], known_seq=written[0])
            written[0] += 2

    writer = threading.Thread(target=write)
    try:
        log.append([_lines("busy", 2, start=-2)], known_seq=0)
        before = _wal_salts(db_path)
        writer.start()
        # A run that finds the writer mid-transaction copies everything yet leaves the restart to a
        # later run (that commit read the old WAL); the frame bound forces one at the latest, so the
        # runs go on until the writer's commit has begun a new WAL generation (bounded in time).
        deadline = time.monotonic() + 30
        runs = 0
        while _wal_salts(db_path) == before and time.monotonic() < deadline:
            checkpointer.run()  # a pass may leave the newest frames (a commit landing meanwhile)
            runs += 1
        assert _wal_salts(db_path) != before, f"no restart after {runs} checkpoints"  # a new WAL generation
    finally:
        stop.set()
        writer.join(timeout=30)
        checkpointer.close()
        log.close()
