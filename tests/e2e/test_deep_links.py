"""Issue 14: /calls/<id> opens that call's detail, survives a reload and follows back/forward."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
from e2e_harness import Server, finished_call_events, open_dashboard
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def test_call_deep_link_opens_detail_and_reload_keeps_it(server: Server, page: Page) -> None:
    first, second = new_id("deep"), new_id("deep")
    now = time.time()
    server.post_events(finished_call_events(first, caller="+15550300001", callee="+15550300002", start=now - 90))
    server.post_events(finished_call_events(second, caller="+15550300003", callee="+15550300004", start=now - 60))
    open_dashboard(page, server)
    panel = page.get_by_role("dialog", name="Call detail")

    page.goto(server.url(f"/calls/{first}?range=7d"))
    expect(panel).to_contain_text(first, timeout=5_000)
    page.reload()
    expect(panel).to_contain_text(first, timeout=5_000)
    assert urlsplit(page.url).query == "range=7d"  # the range stays beside the call

    panel.get_by_role("button", name="Close call detail").click()
    expect(panel).to_have_count(0)
    assert path_of(page) == "/"
    page.locator(f'tr[data-call-id="{second}"]').click()
    expect(panel).to_contain_text(second)
    assert path_of(page) == f"/calls/{second}"

    page.go_back()
    expect(panel).to_have_count(0)
    assert path_of(page) == "/"
    page.go_back()
    expect(panel).to_contain_text(first)
