"""Auth on every route: scopes, Bearer / ?token= / session cookie, hashed storage, redacted logs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.auth import TokenSet, hash_token, revoke_token, rotate_token
from patterdash.store.sqlite import EventLog
from patterdash.web.table import ROUTES as TABLE
from tests.conftest import TOKEN, StartClient
from tests.factories import full_call

Client = TestClient[Any, Any]


def _sample(path: str) -> str:
    """A concrete request path for a route's pattern."""
    path = path.replace("{call_id}", "x")
    return path + "?format=csv" if path.endswith("/export/calls") else path


# generated from the route table: a new route is walked here without editing this file
ROUTES: list[tuple[str, str, str]] = [
    (r.method, _sample(r.path), r.scope) for r in TABLE if r.api and r.scope not in ("public", "signed")
]


async def _call(client: Client, method: str, path: str, **kw: Any) -> int:
    body: Any = None
    route = path.split("?")[0]
    if route == "/api/events":
        body = full_call("a")[:1]
    elif route == "/api/dashboard/ingest":
        body = {"call_id": "a"}
    elif route.endswith("/delete"):
        body = {"call_ids": ["x"]}
    elif route == "/v1/traces":
        body = {"resourceSpans": []}
    async with client.request(method, path, json=body, **kw) as resp:
        return resp.status


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_every_route_needs_a_token_when_one_is_set(
    start_client: StartClient, method: str, path: str, scope: str
) -> None:
    # loopback ingest off: from 127.0.0.1 the Patter route is otherwise open by design (test_loopback_ingest.py)
    secured = await start_client(token=TOKEN, loopback_ingest=False)
    assert await _call(secured, method, path) == 401
    assert await _call(secured, method, path, headers={"Authorization": "Bearer wrong"}) == 401
    assert await _call(secured, method, path, headers={"Authorization": f"Bearer {TOKEN}"}) in (200, 404)
    sep = "&" if "?" in path else "?"
    assert await _call(secured, method, f"{path}{sep}token={TOKEN}") in (200, 404)


@pytest.mark.parametrize("scope", ["read", "ingest"])
async def test_scoped_tokens_reach_only_their_routes(start_client: StartClient, db_path: Path, scope: str) -> None:
    log = EventLog(db_path)
    secret, _ = rotate_token(log, scope=scope, grace=0, now=time.time())  # type: ignore[arg-type]
    log.close()
    client = await start_client()
    auth = {"Authorization": f"Bearer {secret}"}
    for method, path, needed in ROUTES:
        status = await _call(client, method, path, headers=auth)
        if needed in (scope, "any"):
            assert status in (200, 404), (method, path)
        else:
            assert status == 403, (method, path)


async def test_health_and_hashed_assets_are_public(secured: Client) -> None:
    assert (await secured.get("/healthz")).status == 200


async def test_browser_token_exchange_sets_a_strict_httponly_cookie_and_cleans_the_url(secured: Client) -> None:
    resp = await secured.get(f"/?token={TOKEN}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the client's cookie jar now carries auth for pages, fetches and the EventSource alike
    assert (await secured.get("/")).status == 200
    assert (await secured.get("/api/dashboard/aggregates")).status == 200
    async with secured.get("/api/dashboard/events") as stream:
        assert stream.status == 200


async def test_unauthenticated_browser_gets_a_token_form_not_a_blank_page(secured: Client) -> None:
    resp = await secured.get("/")
    html = await resp.text()
    assert resp.status == 401 and "name=token" in html and "<script" not in html
    # A rejected token leaves the address bar: a redirect to a clean URL whose page says why.
    wrong = await secured.get("/?token=nope", allow_redirects=False)
    assert wrong.status == 303 and wrong.headers["Location"] == "/?signin=rejected"
    assert "Set-Cookie" not in wrong.headers and wrong.headers["Cache-Control"] == "no-store"
    again = await secured.get(wrong.headers["Location"])
    assert again.status == 401 and "not accepted" in await again.text() and "nope" not in await again.text()


async def test_the_cookie_dies_with_its_token(start_client: StartClient, db_path: Path) -> None:
    log = EventLog(db_path)
    secret, row = rotate_token(log, scope="read", grace=0, now=time.time())
    client = await start_client()
    await client.get(f"/?token={secret}", allow_redirects=False)
    assert (await client.get("/api/dashboard/calls")).status == 200
    revoke_token(log, row["id"], now=time.time())
    import asyncio

    async with asyncio.timeout(2):
        while (await client.get("/api/dashboard/calls")).status != 401:
            await asyncio.sleep(0.05)


def test_tokens_are_stored_only_as_hashes(db_path: Path) -> None:
    log = EventLog(db_path)
    secret, _ = rotate_token(log, scope="admin", grace=0, now=1.0)
    dump = "\n".join(log.db.conn.iterdump())
    assert secret not in dump and hash_token(secret) in dump


def test_verification_compares_every_entry_and_honours_expiry() -> None:
    rows = [
        {
            "id": f"t{i}",
            "scope": "read",
            "hash": hash_token(f"s{i}"),
            "expires_at": 10.0 if i == 1 else None,
            "revoked_at": None,
        }
        for i in range(3)
    ]
    tokens = TokenSet.build(config_token=None, rows=rows)
    assert tokens.verify("s0", now=5.0) is not None
    assert tokens.verify("s1", now=5.0) is not None and tokens.verify("s1", now=11.0) is None
    assert tokens.verify("nope", now=5.0) is None and tokens.verify(None, now=5.0) is None


async def test_token_in_query_never_reaches_the_access_log(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from aiohttp.test_utils import TestServer

    from patterdash.web.app import create_app
    from patterdash.web.security import RedactingAccessLogger

    caplog.set_level(logging.INFO, logger="aiohttp.access")
    server = TestServer(create_app(make_settings(token=TOKEN)), host="127.0.0.1")
    await server.start_server(access_log_class=RedactingAccessLogger, access_log=logging.getLogger("aiohttp.access"))
    client: Client = TestClient(server)
    try:
        await client.get(f"/api/dashboard/calls?token={TOKEN}&limit=5")
        await client.get(f"/?token={TOKEN}", allow_redirects=False)
    finally:
        await client.close()
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) == 2 and all("token=REDACTED" in line for line in access)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_redaction_keeps_last_four_digits_of_phone_numbers() -> None:
    from patterdash.core.redact import redact_text

    assert redact_text("call from +1 (555) 123-4567 to +442079460958") == "call from ***4567 to ***0958"
    assert redact_text("bind 127.0.0.1:8000 seq 1795741190") == "bind 127.0.0.1:8000 seq 1795741190"
    assert redact_text("Authorization: Bearer abc.def") == "Authorization: Bearer REDACTED"
