"""With tokens set, this machine's token-less Patter posts still land; every refused ingest is loud."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.auth import rotate_token
from patterdash.store.sqlite import EventLog
from patterdash.web.security import is_loopback_address
from tests.conftest import TOKEN, StartClient

Client = TestClient[Any, Any]
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PAYLOAD = {"call_id": "CA-loop", "caller": "+15550001111", "callee": "+15550002222", "status": "initiated"}


@pytest.fixture
def notify_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """notify_dashboard enabled whatever the developer's environment says."""
    monkeypatch.delenv("PATTER_DASHBOARD_NOTIFY", raising=False)


@pytest.mark.interop
@pytest.mark.usefixtures("notify_on")
async def test_the_real_patter_notify_dashboard_lands_on_a_server_with_a_token(start_client: StartClient) -> None:
    persistence = pytest.importorskip("getpatter.dashboard.persistence")
    client = await start_client(token=TOKEN)
    assert client.server.port is not None
    await persistence.notify_dashboard(PAYLOAD, port=client.server.port)
    active = await (await client.get("/api/dashboard/active", headers=ADMIN)).json()
    assert [c["call_id"] for c in active] == ["CA-loop"]


@pytest.mark.interop
@pytest.mark.usefixtures("notify_on")
async def test_loopback_ingest_turned_off_refuses_the_sdk_and_says_so(
    start_client: StartClient, caplog: pytest.LogCaptureFixture
) -> None:
    persistence = pytest.importorskip("getpatter.dashboard.persistence")
    client = await start_client(token=TOKEN, loopback_ingest=False)
    assert client.server.port is not None
    with caplog.at_level(logging.WARNING, logger="patterdash.web"):
        await persistence.notify_dashboard(PAYLOAD, port=client.server.port)
    assert await (await client.get("/api/dashboard/active", headers=ADMIN)).json() == []
    assert any("refused ingest" in r.message and "missing token" in r.message for r in caplog.records)
    metrics = await (await client.get("/metrics", headers=ADMIN)).text()
    assert 'patterdash_ingest_rejected_total{reason="missing token"} 1' in metrics


@pytest.mark.parametrize("header", ["Forwarded", "X-Forwarded-For", "X-Real-IP"])
async def test_a_proxied_request_is_never_loopback(secured: Client, header: str) -> None:
    resp = await secured.post("/api/dashboard/ingest", json=PAYLOAD, headers={header: "203.0.113.9"})
    assert resp.status == 401


async def test_loopback_opens_only_the_patter_route_and_only_without_a_token(secured: Client) -> None:
    assert (await secured.post("/api/dashboard/ingest", json=PAYLOAD)).status == 200
    wrong = await secured.post("/api/dashboard/ingest", json=PAYLOAD, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401  # a wrong token is a mistake to report, not a token-less agent
    assert (await secured.post("/api/events", json=[{"type": "call_start", "call_id": "x"}])).status == 401
    assert (await secured.post("/api/dashboard/calls/delete", json={"call_ids": ["CA-loop"]})).status == 401
    assert (await secured.get("/api/dashboard/calls")).status == 401


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("192.168.1.5", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("localhost", False),
        ("", False),
    ],
)
def test_which_peers_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_address(host) is loopback


async def test_refusals_are_logged_once_a_minute_per_client_and_reason_and_counted(
    start_client: StartClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = await start_client(token=TOKEN, loopback_ingest=False)
    with caplog.at_level(logging.WARNING, logger="patterdash.web"):
        for _ in range(5):
            assert (await client.post("/api/dashboard/ingest", json=PAYLOAD)).status == 401
        bad = await client.post(
            "/api/dashboard/ingest", data=b"{", headers={**ADMIN, "Content-Type": "application/json"}
        )
        assert bad.status == 400
    lines = [r.getMessage() for r in caplog.records if "refused ingest" in r.getMessage()]
    assert len(lines) == 2 and "missing token" in lines[0] and "bad payload" in lines[1]
    assert TOKEN not in caplog.text
    body = await (await client.get("/api/dashboard/ingest/rejections", headers=ADMIN)).json()
    assert body == {"window_seconds": 3600, "total": 6, "by_reason": {"bad payload": 1, "missing token": 5}}
    metrics = await (await client.get("/metrics", headers=ADMIN)).text()
    assert 'patterdash_ingest_rejected_total{reason="missing token"} 5' in metrics


async def test_rejections_are_for_admins(start_client: StartClient, db_path: Path) -> None:
    log = EventLog(db_path)
    read, _ = rotate_token(log, scope="read", grace=0, now=time.time())
    log.close()
    client = await start_client(token=TOKEN)
    resp = await client.get("/api/dashboard/ingest/rejections", headers={"Authorization": f"Bearer {read}"})
    assert resp.status == 403


@pytest.mark.parametrize(
    ("scope", "rights"), [("read", ["read"]), ("ingest", ["ingest"]), ("admin", ["read", "ingest", "admin"])]
)
async def test_me_answers_the_sessions_scope_and_rights(
    start_client: StartClient, db_path: Path, scope: str, rights: list[str]
) -> None:
    log = EventLog(db_path)
    secret, _ = rotate_token(log, scope=scope, grace=0, now=time.time())  # type: ignore[arg-type]
    log.close()
    client = await start_client()
    me = await (await client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})).json()
    assert me == {"open": False, "scope": scope, "rights": rights}
    assert (await client.get("/api/me")).status == 401


async def test_me_on_an_open_server_allows_everything(client: Client) -> None:
    me = await (await client.get("/api/me")).json()
    assert me == {"open": True, "scope": None, "rights": ["read", "ingest", "admin"]}
