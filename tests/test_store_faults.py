"""PostgreSQL faults: unreachable at start, lost and back while serving (a real server, stopped and restarted)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import invoke, one_line_error
from tests.conftest import StartClient
from tests.factories import event, full_call
from tests.pg import PgServer
from tests.reliability_helpers import PATTERDASH

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket closes


def test_an_unreachable_store_at_start_is_one_line_and_a_flag_exits() -> None:
    url = f"postgresql://pd:hunter2@127.0.0.1:{_closed_port()}/pd"
    result = invoke("serve", "--port", "0", "--db", url, "--no-wait-for-store")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "unavailable" in line and "pd:***@127.0.0.1" in line and "hunter2" not in line


def test_serve_waits_for_an_unreachable_store_with_backoff(tmp_path: Path) -> None:
    url = f"postgresql://pd@127.0.0.1:{_closed_port()}/pd"
    err = tmp_path / "serve.err"
    with err.open("wb") as sink:
        proc = subprocess.Popen([str(PATTERDASH), "serve", "--port", "0", "--db", url], stderr=sink, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while err.read_text().count("waiting for the event log") < 2:  # 1 s, then 2 s
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        assert "retrying in 1 s" in err.read_text() and "retrying in 2 s" in err.read_text()
    finally:
        proc.kill()
        proc.wait(timeout=10)


async def _post(client: Any, events: list[dict[str, Any]]) -> Any:
    return await client.post("/api/events", json=events)


@pytest.mark.parametrize("log_backend", ["postgres"], indirect=True)
async def test_losing_postgres_while_serving_503s_ingest_keeps_reads_and_recovers(
    start_client: StartClient, pg_server: PgServer
) -> None:
    client = await start_client()
    assert (await _post(client, full_call("CA-before"))).status == 200
    assert (await (await client.get("/healthz")).json())["backend"] == "postgresql"
    pg_server.ctl("stop", "-m", "fast")
    try:
        resp = await _post(client, full_call("CA-during"))
        assert resp.status == 503 and resp.headers["Retry-After"]
        assert (await resp.json())["error"] == "event log unavailable"
        calls = await (await client.get("/api/dashboard/calls")).json()  # reads answer from memory
        assert [c["call_id"] for c in calls] == ["CA-before"]
        health = await (await client.get("/healthz")).json()
        assert health["writable"] is False
        metrics = await (await client.get("/metrics")).text()
        assert "patterdash_store_errors_total 0" not in metrics
    finally:
        pg_server.ctl("start")
    deadline = time.monotonic() + 20
    while (resp := await _post(client, full_call("CA-after"))).status != 200:
        assert time.monotonic() < deadline, await resp.text()
        await asyncio.sleep(0.2)
    assert (await resp.json())["seqs"] == list(range(7, 13))  # no gap: nothing of the 503'd batch stored
    calls = await (await client.get("/api/dashboard/calls")).json()
    assert [c["call_id"] for c in calls] == ["CA-after", "CA-before"]
    assert (await (await client.get("/healthz")).json())["writable"] is True
    assert (await _post(client, [event("call_start", "CA-x")])).status == 200
