"""Issue 14: `/` focuses search, j/k move the table selection, Enter opens, Esc closes."""

from __future__ import annotations

import time
import uuid

import pytest
from e2e_harness import Server, finished_call_events
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def focused_call(page: Page) -> str | None:
    return page.evaluate("document.activeElement?.dataset?.callId ?? null")  # type: ignore[no-any-return]


def test_slash_j_k_enter_escape(server: Server, dashboard: Page) -> None:
    tag = uuid.uuid4().hex[:8]
    now = time.time()
    for i in range(3):
        server.post_events(
            finished_call_events(f"kbd-{tag}-{i}", caller="+15550500001", callee="+1", start=now - 60 + i)
        )
    rows = dashboard.locator(f'tr[data-call-id^="kbd-{tag}"]')
    expect(rows).to_have_count(3, timeout=5_000)
    search = dashboard.get_by_placeholder("number or words")
    dashboard.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")  # the slash is not typed into the box
    search.fill(f"kbd-{tag}")  # only this test's calls
    expect(dashboard.locator("tbody tr[data-call-id]")).to_have_count(3)
    order = [r.get_attribute("data-call-id") for r in rows.all()]

    dashboard.get_by_role("heading", name="patterdash").click()  # leave the search box
    dashboard.keyboard.press("j")
    assert focused_call(dashboard) == order[0]
    dashboard.keyboard.press("j")
    dashboard.keyboard.press("j")
    assert focused_call(dashboard) == order[2]
    dashboard.keyboard.press("k")
    assert focused_call(dashboard) == order[1]
    dashboard.keyboard.press("Enter")
    panel = dashboard.get_by_role("dialog", name="Call detail")
    expect(panel).to_contain_text(str(order[1]))
    dashboard.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    assert focused_call(dashboard) == order[1]  # focus goes back to the row
