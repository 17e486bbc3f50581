"""Signing in from a deep link returns to it; the return address is only ever a same-origin SPA page."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from patterdash.web.static import safe_next
from tests.conftest import TOKEN

Client = TestClient[Any, Any]

UNSAFE = [
    "//evil.example/calls/x",
    "https://evil.example/",
    "http:/calls/x",
    "javascript:alert(1)",
    "/\\evil.example",
    "\\\\evil.example",
    "/calls/x/../../evil",
    "/calls/",
    "/api/dashboard/calls",
    "/calls/x\r\nSet-Cookie: a=b",
    "/calls/x#frag",
    "evil.example",
    "",
]


def rejected_to(location: str) -> str:
    """The return address of a redirect to the sign-in page's "not accepted" state."""
    url = urlsplit(location)
    query = parse_qs(url.query)
    assert url.path == "/" and query["signin"] == ["rejected"], location
    return query["next"][0]


@pytest.mark.parametrize("raw", UNSAFE)
def test_anything_but_a_dashboard_page_of_this_origin_returns_to_the_root(raw: str) -> None:
    assert safe_next(raw) == "/"


def test_a_call_page_and_its_range_are_kept_without_credentials() -> None:
    assert safe_next("/calls/abc-1?range=7d") == "/calls/abc-1?range=7d"
    assert safe_next("/calls/abc%2F1") == "/calls/abc%2F1"
    assert safe_next("/?range=30d&bucket=3600-7200") == "/?range=30d&bucket=3600-7200"
    assert safe_next("/calls/abc?token=secret&signin=rejected&next=/x&range=1h") == "/calls/abc?range=1h"
    assert safe_next(None) == "/"


async def test_the_sign_in_page_of_a_deep_link_returns_there(secured: Client) -> None:
    page = await secured.get("/calls/abc-1?range=7d")
    body = await page.text()
    assert page.status == 401 and "name=token" in body
    assert f'name=next type=hidden value="{html.escape("/calls/abc-1?range=7d")}"' in body

    ok = await secured.get(f"/?token={TOKEN}&next={quote('/calls/abc-1?range=7d')}", allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/calls/abc-1?range=7d"
    assert "HttpOnly" in ok.headers["Set-Cookie"]
    assert (await secured.get("/calls/abc-1?range=7d")).status == 200


async def test_a_rejected_token_keeps_the_return_address_and_not_the_token(secured: Client) -> None:
    wrong = await secured.get(f"/?token=nope&next={quote('/calls/abc-1')}", allow_redirects=False)
    assert wrong.status == 303 and rejected_to(wrong.headers["Location"]) == "/calls/abc-1"
    again = await secured.get(wrong.headers["Location"])
    body = await again.text()
    assert again.status == 401 and "not accepted" in body and "nope" not in body
    assert 'name=next type=hidden value="/calls/abc-1"' in body
    # A token given on the deep link itself is refused the same way, back to that call.
    direct = await secured.get("/calls/abc-1?token=nope", allow_redirects=False)
    assert rejected_to(direct.headers["Location"]) == "/calls/abc-1"


@pytest.mark.parametrize("raw", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_no_open_redirect(secured: Client, raw: str) -> None:
    ok = await secured.get("/", params={"token": TOKEN, "next": raw}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/"
    wrong = await secured.get("/", params={"token": "nope", "next": raw}, allow_redirects=False)
    assert wrong.headers["Location"] == "/?signin=rejected"
    page = await secured.get("/", params={"signin": "rejected", "next": raw})
    assert "evil" not in await page.text()
