"""Issue 17.4: DNS rebinding — a loopback server answers only to loopback Host names, and refuses
cross-origin state changes even with no token. Against a real ``patterdash serve`` process."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from patterdash.web.hosts import host_allowed, hostname_of, origin_allowed
from tests.reliability_helpers import ServerProcess, call_events, running_server


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One open (no token) loopback server, with one extra allowed name."""
    db = tmp_path_factory.mktemp("hosts") / "patterdash.db"
    with running_server(db, "--allowed-host", "dash.internal") as server:
        yield server


def _port(server: ServerProcess) -> str:
    return server.base_url.rsplit(":", 1)[1]


async def _request(server: ServerProcess, method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.request(method, server.base_url + path, **kwargs) as resp:
        body = await resp.json(content_type=None)
        return resp.status, body, dict(resp.headers)


async def _ingest_finished_call(server: ServerProcess, call_id: str) -> None:
    status, body, _ = await _request(server, "POST", "/api/events", json=call_events(call_id, ts=1_700_000_000.0))
    assert status == 200, body


async def test_a_rebound_host_cannot_read_or_delete_calls(open_server: ServerProcess) -> None:
    await _ingest_finished_call(open_server, "rebind-1")
    evil = f"attacker.example:{_port(open_server)}"
    headers = {"Host": evil, "Origin": f"http://{evil}"}
    status, body, resp_headers = await _request(open_server, "GET", "/api/dashboard/calls", headers=headers)
    assert status == 421 and body["error"] == "host not allowed" and set(body) == {"error", "detail"}
    assert resp_headers["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" in resp_headers
    status, body, _ = await _request(open_server, "DELETE", "/api/dashboard/calls/rebind-1", headers=headers)
    assert status == 421
    status, body, _ = await _request(open_server, "GET", "/api/dashboard/calls/rebind-1")
    assert status == 200 and body["call_id"] == "rebind-1"  # still there


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "localhost", "dash.internal:{port}"]
)
async def test_loopback_and_allowed_hosts_are_answered(open_server: ServerProcess, host: str) -> None:
    status, body, _ = await _request(
        open_server, "GET", "/api/dashboard/aggregates", headers={"Host": host.format(port=_port(open_server))}
    )
    assert status == 200, body


async def test_a_cross_origin_state_change_is_refused_without_any_token(open_server: ServerProcess) -> None:
    await _ingest_finished_call(open_server, "xorigin-1")
    before = open_server.health()["seq"]
    for origin in ("http://evil.example", "null", f"http://localhost:{int(_port(open_server)) + 1}"):
        status, body, _ = await _request(
            open_server,
            "POST",
            "/api/events",
            json=call_events("xorigin-2", ts=1_700_000_000.0),
            headers={"Origin": origin},
        )
        assert status == 403 and body["error"] == "cross-origin request refused", origin
        status, body, _ = await _request(
            open_server, "DELETE", "/api/dashboard/calls/xorigin-1", headers={"Origin": origin}
        )
        assert status == 403, origin
    assert open_server.health()["seq"] == before  # nothing appended, nothing deleted
    same = {"Origin": open_server.base_url}
    status, body, _ = await _request(open_server, "DELETE", "/api/dashboard/calls/xorigin-1", headers=same)
    assert status == 200 and body["deleted"] == ["xorigin-1"]


def test_allowed_hosts_come_from_the_environment(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "patterdash.db", env={"PATTERDASH_ALLOWED_HOSTS": "a.example, b.example"})
    try:
        server.start()
        for name, expected in (("b.example", 200), ("c.example", 421)):
            request = urllib.request.Request(f"{server.base_url}/healthz", headers={"Host": name})
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    status = resp.status
            except urllib.error.HTTPError as e:
                status = e.code
            assert status == expected, name
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("header", "allowed", "ok"),
    [
        ("127.0.0.1:8000", [], True),
        ("127.9.9.9", [], True),
        ("[::1]:8000", [], True),
        ("app.localhost:8000", [], True),
        ("localhost.attacker.example", [], False),
        ("127.0.0.1.nip.io:8000", [], False),
        ("dash.lan:8000", ["dash.lan"], True),
        ("dash.lan:9000", ["dash.lan:8000"], False),
        ("x.corp.example", [".corp.example"], True),
        ("anything", ["*"], True),
    ],
)
def test_host_allowed(header: str, allowed: list[str], ok: bool) -> None:
    assert host_allowed(header, allowed) is ok


def test_origin_and_hostname_parsing() -> None:
    assert hostname_of("[::1]:80") == "::1" and hostname_of("Example.COM:1") == "example.com"
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", [])
    assert not origin_allowed("http://127.0.0.1:8001", "127.0.0.1:8000", [])
    assert not origin_allowed("null", "127.0.0.1:8000", [])
    assert origin_allowed("https://dash.lan", "127.0.0.1:8000", ["dash.lan"])
