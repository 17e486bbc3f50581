"""Issue 14: signing in from a /calls/<id> link lands on that call's detail (and a reload keeps it)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
from e2e_harness import Server, finished_call_events
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_sign_in_from_a_deep_link_returns_to_that_call(server: Server, browser: Browser) -> None:
    call_id = f"signin-{uuid.uuid4().hex[:10]}"
    server.post_events(finished_call_events(call_id, caller="+15550400001", callee="+1", start=time.time() - 60))
    ctx = browser.new_context()  # no session cookie
    try:
        page = ctx.new_page()
        page.goto(server.url(f"/calls/{call_id}?range=7d"))
        token = page.get_by_label("Dashboard token")
        token.fill("not-the-token")
        token.press("Enter")
        expect(page.get_by_text("That token was not accepted.")).to_be_visible()
        assert "not-the-token" not in page.url

        page.get_by_label("Dashboard token").fill(server.token)
        page.get_by_role("button", name="Open dashboard").click()
        panel = page.get_by_role("dialog", name="Call detail")
        expect(panel).to_contain_text(call_id, timeout=10_000)
        url = urlsplit(page.url)
        assert (url.path, url.query) == (f"/calls/{call_id}", "range=7d")
        assert server.token not in page.url
        page.reload()
        expect(panel).to_contain_text(call_id, timeout=10_000)
    finally:
        ctx.close()
