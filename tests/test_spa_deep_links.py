"""/calls/<id> serves the SPA (a reload of a deep link keeps the call open); only for a signed-in session."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import TOKEN

Client = TestClient[Any, Any]


async def test_a_call_deep_link_serves_the_spa_index(secured: Client) -> None:
    index = await (await secured.get("/", headers={"Authorization": f"Bearer {TOKEN}"})).text()
    resp = await secured.get("/calls/some-call-id", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert await resp.text() == index


async def test_a_call_deep_link_needs_a_token_and_shows_the_sign_in_page(secured: Client) -> None:
    resp = await secured.get("/calls/some-call-id")
    html = await resp.text()
    assert resp.status == 401 and "name=token" in html and "<script" not in html  # a page, not JSON
    api = await secured.get("/api/dashboard/calls/some-call-id")
    assert api.status == 401 and (await api.json())["error"] == "unauthorized"  # the API stays JSON


async def test_only_one_segment_is_a_deep_link(secured: Client) -> None:
    resp = await secured.get("/calls/a/b", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 404
