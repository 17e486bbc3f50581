"""Issue 14: phone numbers are masked by default and revealed per browser session."""

from __future__ import annotations

import time
import uuid

import pytest
from e2e_harness import Server, finished_call_events, live_call_events, open_dashboard
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

CALLER = "+15550106291"
CALLEE = "+15550107777"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_numbers_masked_everywhere_until_revealed_for_the_session(
    server: Server, dashboard: Page, browser: Browser
) -> None:
    done, live = new_id("masked"), new_id("masked-live")
    now = time.time()
    server.post_events(finished_call_events(done, caller=CALLER, callee=CALLEE, start=now - 120))
    server.post_events(live_call_events(live, caller=CALLER, callee=CALLEE, start=now, turns=0))
    row = dashboard.locator(f'tr[data-call-id="{done}"]')
    card = dashboard.locator(f'.live-card[data-call-id="{live}"]')
    expect(row).to_contain_text("•••6291", timeout=5_000)
    expect(row).to_contain_text("•••7777")
    expect(card).to_contain_text("•••6291")
    row.click()
    panel = dashboard.get_by_role("dialog")
    expect(panel.locator(".detail-numbers")).to_contain_text("•••6291")
    assert CALLER not in dashboard.locator("body").inner_text()
    panel.get_by_role("button", name="Close call detail").click()

    # Search still matches the full number (server-side), the row stays masked.
    dashboard.get_by_placeholder("number or words").fill(CALLER)
    expect(row).to_be_visible()
    expect(row).to_contain_text("•••6291")

    toggle = dashboard.get_by_test_id("reveal-numbers")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(row).to_contain_text(CALLER)
    expect(card).to_contain_text(CALLEE)
    row.click()
    expect(panel.locator(".detail-numbers")).to_contain_text(CALLER)

    dashboard.reload()  # the same session keeps the choice
    expect(dashboard.locator(f'tr[data-call-id="{done}"]')).to_contain_text(CALLER, timeout=5_000)

    other = browser.new_context()  # a new session starts masked again
    try:
        fresh = open_dashboard(other.new_page(), server)
        expect(fresh.locator(f'tr[data-call-id="{done}"]')).to_contain_text("•••6291", timeout=5_000)
        expect(fresh.get_by_test_id("reveal-numbers")).to_have_attribute("aria-pressed", "false")
    finally:
        other.close()
        server.post_events([{"type": "call_end", "call_id": live, "ts": time.time(), "data": {"status": "completed"}}])
