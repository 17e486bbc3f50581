"""Shared pieces of the reliability suite: real server processes, ingest drivers, log checks.

Servers run as ``patterdash serve`` subprocesses on 127.0.0.1 with port 0; they are
stopped by PID only. Every wait is a bounded poll on a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from patterdash.core.projection import Projection
from patterdash.store.sqlite import EventLog
from tests.factories import metrics, turn

PATTERDASH = Path(sys.executable).with_name("patterdash")
_URL = re.compile(rb"patterdash is serving (http://127\.0\.0\.1:\d+)/")
FIGURES = Path(os.environ.get("RELIABILITY_FIGURES", "")) if os.environ.get("RELIABILITY_FIGURES") else None


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.02, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], Any], *, within: float, interval: float = 0.02, what: str = "condition"
) -> Any:
    """The asyncio twin of ``wait_until`` (the predicate is a plain function)."""
    timeout = within
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def record_figure(name: str, value: Any) -> None:
    """Append a measured figure to $RELIABILITY_FIGURES (JSON lines) when set; docs/reliability.md quotes them."""
    print(f"FIGURE {name} = {value}")
    if FIGURES is not None:
        with FIGURES.open("a") as f:
            f.write(json.dumps({"name": name, "value": value}) + "\n")


class ServerProcess:
    """``patterdash serve`` in a subprocess on 127.0.0.1:0, its output captured to files."""

    def __init__(self, db: Path, *args: str, env: dict[str, str] | None = None, workdir: Path | None = None) -> None:
        self.db = db
        self.args = args
        self.workdir = workdir or db.parent
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERDASH_")}
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self._runs = itertools.count()
        self.stdout_path = self.stderr_path = self.workdir / "unused"

    def start(self, *, timeout: float = 30.0) -> str:
        """Start the server and wait until it announces its URL and /healthz answers."""
        run = next(self._runs)
        self.stdout_path = self.workdir / f"serve-{run}.out"
        self.stderr_path = self.workdir / f"serve-{run}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(PATTERDASH), "serve", "--port", "0", "--db", str(self.db), *self.args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=self.env,
            )

        def announced() -> str | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.stderr()}")
            match = _URL.search(self.stdout_path.read_bytes())
            return match.group(1).decode() if match else None

        self.base_url = wait_until(announced, timeout=timeout, what="the serving line")
        wait_until(self.healthy, timeout=timeout, what="/healthz")
        return self.base_url

    def healthy(self) -> bool:
        """Whether /healthz answers 200."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def health(self) -> dict[str, Any]:
        """The /healthz body."""
        with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as resp:
            return dict(json.loads(resp.read()))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal to this server's PID (never by name)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, *, timeout: float = 30.0) -> int:
        """Wait for the process to exit; returns its exit code."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL and reap."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM, wait, SIGKILL if it did not stop; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def stderr(self) -> str:
        """Everything the current run wrote to stderr."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def all_output(self) -> str:
        """stdout and stderr of every run so far."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("serve-*.*")))

    def rss_kib(self) -> int:
        """Resident set size of the server process (VmRSS from /proc)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert match, status
        return int(match.group(1))


@contextlib.contextmanager
def running_server(db: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A started server, always stopped by PID at the end."""
    server = ServerProcess(db, *args, env=env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def run_cli(
    *args: str, cwd: Path, timeout: float = 30.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the patterdash CLI to completion."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERDASH_")}
    full_env.update(env or {})
    return subprocess.run(
        [str(PATTERDASH), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# -- workloads -------------------------------------------------------------------


def call_events(call_id: str, *, ts: float, turns: int = 2, finish: bool = True) -> list[dict[str, Any]]:
    """A realistic call as native events with explicit ids (so acks can be checked by id)."""
    events: list[dict[str, Any]] = [
        {"type": "call_start", "data": {"caller": "+15550001111", "callee": "+15550002222"}, "ts": ts},
    ]
    for i in range(turns):
        events.append(
            {"type": "transcript_line", "data": {"turnIndex": i, "role": "user", "text": f"q{i}"}, "ts": ts + 2 * i + 1}
        )
        events.append({"type": "turn_complete", "data": {"turn": turn(i, total=500.0 + 37 * i)}, "ts": ts + 2 * i + 2})
    if finish:
        events.append(
            {"type": "call_end", "data": {"metrics": metrics(call_id, turns=turns)}, "ts": ts + 2 * turns + 5}
        )
    for n, ev in enumerate(events):
        ev["call_id"] = call_id
        ev["id"] = f"{call_id}:{n}"
    return events


@dataclass
class IngestTally:
    """What a driver sent and what the server acknowledged."""

    acked: set[str] = field(default_factory=set)
    sent: int = 0
    requests_ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def drive_ingest(
    base_url: str,
    tally: IngestTally,
    stop: asyncio.Event,
    *,
    workers: int = 8,
    prefix: str = "c",
    batch_calls: int = 2,
    pause: float = 0.0,
    headers: dict[str, str] | None = None,
    unfinished_every: int = 5,
) -> None:
    """Concurrent writers posting whole calls (native batches, and Patter payloads) until ``stop``.

    Every event id answered with 2xx goes into ``tally.acked``; transport errors (the
    server was killed) are counted, never raised.
    """
    timeout = aiohttp.ClientTimeout(total=30)
    counter = itertools.count()
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:

        async def post(path: str, body: Any, ids: list[str]) -> None:
            tally.sent += len(ids)
            try:
                async with session.post(
                    f"{base_url}{path}", data=orjson.dumps(body), headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        tally.acked.update(ids)
                        tally.requests_ok += 1
                    else:
                        tally.error(f"http {resp.status}")
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                tally.error(type(e).__name__)

        async def worker(w: int) -> None:
            while not stop.is_set():
                n = next(counter)
                if n % 7 == 3:
                    cid = f"{prefix}-p{n}"
                    start = {"call_id": cid, "caller": "+15550003333", "callee": "+15550004444"}
                    await post("/api/dashboard/ingest", start, [f"patter:call_start:{cid}"])
                    end = {**start, "ended_at": 1_700_000_100.0 + n, "metrics": metrics(cid), "transcript": []}
                    await post("/api/dashboard/ingest", end, [f"patter:call_end:{cid}"])
                else:
                    batch = []
                    for k in range(batch_calls):
                        cid = f"{prefix}-{n}-{k}"
                        unfinished = unfinished_every and (n * batch_calls + k) % unfinished_every == 0
                        batch += call_events(cid, ts=1_700_000_000.0 + n, finish=not unfinished)
                    await post("/api/events", batch, [e["id"] for e in batch])
                if pause:
                    await asyncio.sleep(pause)

        await asyncio.gather(*(worker(w) for w in range(workers)))


# -- checks against the file -----------------------------------------------------------


def log_ids(db: Path) -> list[str]:
    """Every event id in the log, in seq order (read straight from the file)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM events ORDER BY seq")]
    finally:
        conn.close()


def wal_is_empty(db: Path) -> bool:
    """Whether the -wal file is gone or empty (a clean close checkpointed it)."""
    wal = Path(f"{db}-wal")
    return not wal.exists() or wal.stat().st_size == 0


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of the file."""
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def full_fold(db: Path, *, ring_size: int = 500) -> dict[str, Any]:
    """A fresh Projection folded from EVERY event of the log (not the start-up selection)."""
    log = EventLog(db, create=False)
    try:
        proj = Projection(ring_size=ring_size)
        completed = {}
        for events in _all_events(log):
            for ev in events:
                if ev.call_id not in completed:
                    summary = log.call_summary(ev.call_id)
                    completed[ev.call_id] = summary["completed_seq"] if summary else None
                proj.apply(ev, completed_seq=completed[ev.call_id])
        return orjson.loads(orjson.dumps(proj.snapshot()))
    finally:
        log.close()


def _all_events(log: EventLog) -> Iterator[list[Any]]:
    after = 0
    while chunk := log.read_after(after, limit=5000):
        yield chunk
        after = chunk[-1].seq


def api_snapshot(base_url: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The same picture as Projection.snapshot(), read through the HTTP API."""

    def get(path: str) -> Any:
        req = urllib.request.Request(f"{base_url}{path}", headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    active: list[dict[str, Any]] = []
    while True:  # /active answers at most 1,000 calls a page (X-Total-Count has the total)
        page = get(f"/api/dashboard/active?limit=1000&offset={len(active)}")
        active += page
        if len(page) < 1000:
            break
    return {
        "ring": get("/api/dashboard/calls?limit=1000"),
        "active": {r["call_id"]: r for r in sorted(active, key=lambda r: r["call_id"])},
        "aggregates": get("/api/dashboard/aggregates"),
    }
