"""Security: every route's auth, constant-time token checks, secrets and phone numbers kept out
of logs, CSV formula injection, static path traversal, security headers, loopback-only bind.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import http.client
import io
import re
import secrets
import socket
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

import patterdash.auth
from patterdash.auth import SCOPES, Grant, TokenSet, rotate_token
from patterdash.store.sqlite import EventLog
from patterdash.web.server import is_loopback
from patterdash.web.static import ui_root
from patterdash.web.table import ROUTES as TABLE
from tests.conftest import TOKEN
from tests.factories import full_call, metrics
from tests.reliability_helpers import ServerProcess, record_figure, run_cli

Client = TestClient[Any, Any]
_ASSET = next(p.name for p in (ui_root() / "assets").iterdir() if p.suffix == ".css")

# Concrete requests for the route table's patterns, and bodies for the writes.
_SAMPLES = {
    "{call_id}": "unknown-call",
    "{path:assets/.+}": f"assets/{_ASSET}",
    "{path:(?!api/).+}": "no-such-file.txt",
}
_BODIES: dict[str, Any] = {
    "/api/events": {"type": "call_start", "call_id": "auth-probe"},
    "/api/dashboard/ingest": {"call_id": "auth-probe-p", "caller": "", "callee": ""},
    "/api/dashboard/calls/delete": {"call_ids": ["unknown-call"]},
    "/v1/traces": {"resourceSpans": []},
}


def _concrete(path: str) -> str:
    for pattern, sample in _SAMPLES.items():
        path = path.replace(pattern, sample)
    return path + "?format=csv" if path.endswith("/export/calls") else path


# (method, path, body, scope needed; None = public), generated from the route table so a new route is
# walked here without editing this file; LiveKit's signed routes have their own tests (test_livekit.py)
ROUTES: list[tuple[str, str, Any, str | None]] = [
    (r.method, _concrete(r.path), _BODIES.get(r.path), None if r.scope == "public" else r.scope)
    for r in TABLE
    if r.scope != "signed"
] + [("GET", "/api/dashboard/export/calls?format=json&scope=all", None, "read")]
_GRANTS = {"read": {"read", "any"}, "ingest": {"ingest", "any"}, "admin": {"read", "ingest", "admin", "any"}}


def _is_page(path: str) -> bool:
    """The browser's pages answer 401 with the sign-in form (not JSON) and send a rejected ?token= off."""
    path = path.split("?")[0]
    return path == "/" or path.startswith("/calls/")


def _with_query(path: str, token: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}token={urllib.parse.quote(token)}"


async def _call(client: Client, method: str, path: str, body: Any, *, how: str, token: str | None) -> int:
    headers: dict[str, str] = {}
    if token is not None and how == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None and how == "cookie":
        headers["Cookie"] = f"patterdash_session={token}"
    elif token is not None and how == "query":
        path = _with_query(path, token)
    client.session.cookie_jar.clear()  # only the cookie this call means to send
    async with client.request(method, path, json=body, headers=headers, allow_redirects=False) as resp:
        status = resp.status
        if status == 401:
            if _is_page(path):
                assert resp.content_type == "text/html"  # the login form, not JSON
            else:
                assert (await resp.json())["error"] == "unauthorized"
                assert resp.headers["WWW-Authenticate"] == "Bearer"
        elif status == 403:
            assert (await resp.json())["error"] == "forbidden"
        # SSE and downloads: the status is all we need; closing ends the stream
        return status


@pytest.fixture
def scoped(db_path: Path) -> dict[str, str]:
    """One stored token per scope (hashed in the log), secrets returned once."""
    log = EventLog(db_path)
    try:
        return {scope: rotate_token(log, scope=scope, grace=0, now=time.time())[0] for scope in SCOPES}
    finally:
        log.close()


@pytest.mark.parametrize("how", ["bearer", "query", "cookie"])
async def test_every_route_enforces_its_scope(
    how: str, scoped: dict[str, str], start_client: Callable[..., Any]
) -> None:
    client: Client = await start_client(loopback_ingest=False)  # the loopback rule: test_loopback_ingest.py
    checked = 0
    for method, path, body, needed in ROUTES:
        seq_before = (await (await client.get("/healthz")).json())["seq"]
        for who, token in [("nobody", None), ("wrong", "pd_wrong_" + secrets.token_hex(8)), *scoped.items()]:
            status = await _call(client, method, path, body, how=how, token=token)
            checked += 1
            if needed is None:
                assert status == 200, (method, path, who)
            elif who in ("nobody", "wrong"):
                # the page sends a rejected ?token= off the address bar (to its sign-in form)
                rejected_in_url = how == "query" and who == "wrong" and _is_page(path)
                assert status == (303 if rejected_in_url else 401), (method, path, who, status)
            elif needed in _GRANTS[who]:
                assert status not in (401, 403), (method, path, who, status)
            else:
                assert status == 403, (method, path, who, status)
        if needed in (None, "read"):
            assert (await (await client.get("/healthz")).json())["seq"] == seq_before
    record_figure(f"security.auth_checks_{how}", checked)


async def test_refused_requests_append_nothing_even_with_a_valid_body(start_client: Callable[..., Any]) -> None:
    secured: Client = await start_client(token=TOKEN, loopback_ingest=False)
    for path in ("/api/events", "/api/dashboard/ingest"):
        resp = await secured.post(path, json=full_call("sneaky")[0] if path == "/api/events" else {"call_id": "x"})
        assert resp.status == 401
    resp = await secured.post("/api/events", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 401  # auth first: an anonymous caller learns nothing about parsing
    assert (await (await secured.get("/healthz")).json())["seq"] == 0


async def test_an_open_server_serves_metrics_and_the_ui_without_a_token(client: Client) -> None:
    assert (await client.get("/metrics")).status == 200
    assert (await client.get("/")).status == 200


async def test_token_in_the_url_becomes_an_httponly_strict_cookie_and_leaves_the_url(secured: Client) -> None:
    resp = await secured.get(f"/?token={TOKEN}", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    assert resp.headers["Cache-Control"] == "no-store"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    wrong = await secured.get("/?token=nope", allow_redirects=False)
    assert wrong.status == 303 and "Set-Cookie" not in wrong.headers
    assert "token" not in wrong.headers["Location"]  # a rejected token leaves the URL too


def test_token_comparison_is_constant_time_over_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(patterdash.auth.hmac, "compare_digest", counting)
    rows = [
        {"id": f"t{i}", "scope": "read", "hash": patterdash.auth.hash_token(f"secret-{i}"), "revoked_at": None}
        for i in range(5)
    ]
    tokens = TokenSet.build(config_token="config-secret", rows=rows)
    for presented, expected in [
        ("config-secret", Grant("config", "admin")),  # the first entry matches...
        ("secret-2", Grant("t2", "read")),
        ("nope", None),
    ]:
        calls.clear()
        assert tokens.verify(presented, now=0.0) == expected
        assert len(calls) == 6  # ...yet every entry is still compared: timing does not reveal which
        assert all(len(a) == len(b) == 32 for a, b in calls)  # digests, never raw secrets
    source = Path(patterdash.auth.__file__).read_text()
    assert "compare_digest" in source
    assert not re.search(r"presented\s*==|==\s*presented", source)


# -- logs ----------------------------------------------------------------------------


async def test_tokens_and_phone_numbers_never_reach_the_logs(tmp_path: Path) -> None:
    secret = "pd_" + secrets.token_urlsafe(24)
    wrong = "pd_wrong_" + secrets.token_urlsafe(12)
    caller, callee = "+15551234567", "+44 20 7946 0958"
    server = ServerProcess(tmp_path / "logs.db", "--token", secret, env={"PATTERDASH_LOG_LEVEL": "DEBUG"})
    try:
        base = server.start()
        bearer = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession() as session:
            call = full_call("log-call")
            call[0]["data"] = {"caller": caller, "callee": callee}
            async with session.post(f"{base}/api/events?token={secret}", json=call) as resp:
                assert resp.status == 200
            patter = {"call_id": "log-p", "caller": caller, "callee": callee, "ended_at": 1.0, "metrics": metrics("p")}
            async with session.post(f"{base}/api/dashboard/ingest", json=patter, headers=bearer) as resp:
                assert resp.status == 200
            for path in (
                f"/?token={secret}",
                f"/api/dashboard/calls?token={secret}&q={urllib.parse.quote(caller)}",
                f"/api/dashboard/calls?q=5551234567&token={secret}",
                f"/api/dashboard/calls/log-call?token={secret}",
                f"/api/dashboard/export/calls?format=csv&token={secret}",
                f"/metrics?token={secret}",
                f"/api/dashboard/calls?token={wrong}",
                f"/?token={wrong}",
                f"/api/dashboard/calls?TOKEN={secret}",
            ):
                async with session.get(f"{base}{path}", allow_redirects=False) as resp:
                    await resp.read()
            async with session.get(f"{base}/api/dashboard/calls", headers={"Authorization": f"Bearer {wrong}"}) as r:
                assert r.status == 401
            async with session.get(f"{base}/api/dashboard/events?token={secret}") as resp:
                assert resp.status == 200
        # malformed HTTP makes aiohttp log a traceback that quotes the bad line: secrets must not ride along
        for raw in (
            f"GET /api/dashboard/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\x00\r\n\r\n",
            f"GET /api/dashboard/calls?token={secret}&x=\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
            f"GET /api/dashboard/calls?token={secret} HTTP/1.1\r\nHost: x\r\nX-Bad: {caller}\x00\r\n\r\n",
        ):
            await asyncio.to_thread(_raw_request, base, raw.encode())
        assert server.stop() == 0
    finally:
        server.stop()
    output = server.all_output()
    assert "/api/dashboard/calls" in output  # the access log was on
    for leaked in (secret, wrong, "5551234567", "2079460958", "20 7946", "%2B1555123"):
        assert leaked not in output, f"{leaked!r} appears in the server logs"
    record_figure("security.log_lines_scanned", len(output.splitlines()))


def _raw_request(base: str, raw: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        return sock.recv(65536)


# -- CSV, static files, headers --------------------------------------------------------

_FORMULAS = ['=HYPERLINK("http://x","y")', "+SUM(1,2)", "-2+3", "@cmd", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]


async def test_csv_export_neutralises_formula_injection(client: Client) -> None:
    events = full_call("csv-1")
    events[0]["data"] = {"caller": _FORMULAS[0], "callee": _FORMULAS[1]}
    turn = events[3]["data"]["turn"]
    turn["user_text"], turn["agent_text"] = _FORMULAS[2], _FORMULAS[3]
    events[-1]["data"]["metrics"]["stt_provider"] = _FORMULAS[4]
    events[-1]["data"]["metrics"]["turns"] = [{**turn, "user_text": _FORMULAS[5], "agent_text": _FORMULAS[6]}]
    assert (await client.post("/api/events", json=events)).status == 200
    cells: list[str] = []
    for query in ("format=csv", "format=csv&scope=all", "format=csv&per=turn", "format=csv&per=turn&scope=all"):
        resp = await client.get(f"/api/dashboard/export/calls?{query}")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/csv")
        assert resp.headers["Content-Disposition"].startswith("attachment")
        rows = list(csv.reader(io.StringIO(await resp.text())))
        cells += [cell for row in rows[1:] for cell in row]
    for formula in _FORMULAS:
        assert "'" + formula in cells or formula not in cells
        assert formula not in cells, f"{formula!r} exported raw"
    dangerous = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _is_number(c))]
    assert not dangerous


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_TRAVERSALS = [
    "/../../../../etc/passwd",
    "/assets/../../pyproject.toml",
    "/%2e%2e/%2e%2e/pyproject.toml",
    "/assets/%2e%2e/%2e%2e/pyproject.toml",
    "/..%2f..%2fpyproject.toml",
    "/assets/..%2f..%2f..%2fpyproject.toml",
    "/%252e%252e/pyproject.toml",
    "//etc/passwd",
    "/assets//etc/passwd",
    "/assets/%00.css",
    "/index.html",
    "/.git/config",
    "/assets/..\\..\\pyproject.toml",
    "/../patterdash/auth.py",
]


def test_static_files_do_not_escape_ui_dist(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "static.db")
    try:
        base = server.start()
        host, port = base.removeprefix("http://").split(":")
        for raw in _TRAVERSALS:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                conn.putrequest("GET", raw, skip_accept_encoding=True)
                conn.endheaders()
                resp = conn.getresponse()
                body = resp.read()
            finally:
                conn.close()
            assert resp.status in (400, 403, 404), (raw, resp.status)
            assert b"root:" not in body and b"[project]" not in body and b"[core]" not in body, raw
    finally:
        server.stop()
    record_figure("security.traversal_paths_tried", len(_TRAVERSALS))


@pytest.mark.parametrize(
    "path", ["/", f"/assets/{_ASSET}", "/api/dashboard/calls", "/api/dashboard/events", "/nope", "/healthz"]
)
async def test_security_headers_on_every_kind_of_response(secured: Client, path: str) -> None:
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        async with secured.get(path, headers=headers) as resp:
            csp = resp.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            script_src = re.search(r"script-src ([^;]*)", csp)
            assert script_src and "unsafe" not in script_src.group(1) and "http" not in csp
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_the_spa_loads_nothing_from_other_origins() -> None:
    html = (ui_root() / "index.html").read_text()
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert refs and all(not re.match(r"^(?:[a-z]+:)?//", ref) for ref in refs), refs


# -- bind policy -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_a_non_loopback_bind_without_a_token_is_refused(host: str, tmp_path: Path) -> None:
    result = run_cli("serve", "--host", host, "--port", "0", "--db", str(tmp_path / "b.db"), cwd=tmp_path)
    assert result.returncode == 1
    assert "patterdash is serving" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "refusing to bind" in lines[0] and "--token" in lines[0]
    assert "Traceback" not in result.stderr


def test_with_a_token_the_bind_policy_lets_a_non_loopback_host_through(tmp_path: Path) -> None:
    # 192.0.2.10 (TEST-NET) is not on this machine: getting past the policy ends in a listen error
    result = run_cli(
        "serve",
        "--host",
        "192.0.2.10",
        "--port",
        "0",
        "--db",
        str(tmp_path / "b.db"),
        "--token",
        "t" * 24,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "refusing" not in result.stderr and "cannot listen on 192.0.2.10" in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.5.5.5", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
