"""State survives a stop and start on the same file; start-up reads only ring + active calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from patterdash.core.events import validate_event
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store.sqlite import EventLog
from tests.conftest import StartClient
from tests.factories import event, full_call


async def test_calls_active_calls_and_aggregates_survive_a_restart(start_client: StartClient) -> None:
    client = await start_client()
    await client.post("/api/events", json=full_call("a") + full_call("b") + [event("call_start", "live")])
    await client.post("/api/dashboard/calls/delete", json={"call_ids": ["a"]})
    before = [
        await (await client.get(p)).json()
        for p in ("/api/dashboard/calls", "/api/dashboard/active", "/api/dashboard/aggregates", "/healthz")
    ]
    await client.close()
    again = await start_client()
    after = [
        await (await again.get(p)).json()
        for p in ("/api/dashboard/calls", "/api/dashboard/active", "/api/dashboard/aggregates", "/healthz")
    ]
    assert after == before
    assert [c["call_id"] for c in after[0]] == ["b"] and after[3]["seq"] == 14


async def test_start_up_folds_only_ring_and_active_calls(db_path: Path) -> None:
    log = EventLog(db_path)
    for i in range(50):
        log.append([[validate_event(e, now=1.0) for e in full_call(f"c{i}")]], known_seq=log.max_seq())
    log.close()
    service = Service(Settings(_env_file=None, db=db_path, ring_size=5))  # type: ignore[call-arg]
    applied: list[Any] = []
    original = service.projection.apply

    def counting(ev: Any, **kw: Any) -> list[str]:
        applied.append(ev)
        return original(ev, **kw)

    service.projection.apply = counting  # type: ignore[method-assign]
    await service.start()
    try:
        assert len(applied) == 5 * 6  # 5 calls x 6 events, not 300
        assert service.projection.last_seq == 300
        assert [s.record["call_id"] for s in service.projection.calls()] == [f"c{i}" for i in range(49, 44, -1)]
    finally:
        await service.stop()


def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "patterdash",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "refusing to bind 0.0.0.0 without a token" in proc.stderr
    assert "Traceback" not in proc.stderr
