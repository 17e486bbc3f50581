"""Issue 15's alerts in the UI: a banner while a rule fires, and a view of rules and their history."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import HarnessError, Server, live_call_events, open_dashboard, run_server
from playwright.sync_api import Page, Request, expect

pytestmark = pytest.mark.browser

RULES = """
[[rule]]
name = "live-calls"
metric = "active_calls"
op = ">"
threshold = 0
severity = "critical"
description = "a call is live"
"""


@pytest.fixture
def alerting(tmp_path: Path) -> Iterator[Server]:
    """A server evaluating one rule that fires while any call is live (every second, the default)."""
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES)
    try:
        with run_server(tmp_path / "srv", extra_args=("--alerts", str(rules))) as server:
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def test_a_firing_alert_shows_a_banner_and_the_view_lists_rules_and_history(alerting: Server, page: Page) -> None:
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if _alerts_read(r) else None)
    open_dashboard(page, alerting)
    banner = page.get_by_test_id("alerts-banner")
    expect(page.get_by_test_id("alerts-button")).to_have_text("Alerts")
    expect(banner).to_have_count(0)
    reads_at_load = len(reads)
    assert reads_at_load >= 1  # the state is read on load

    alerting.post_events(live_call_events("alert-call", caller="+15550001", callee="+15550002", start=time.time()))
    # The alert_fired event on the stream raises the banner: no reload, no polling.
    expect(banner).to_contain_text("1 alert firing: live-calls", timeout=10_000)
    expect(page.get_by_test_id("alerts-button")).to_have_text("Alerts (1 firing)")
    banner.get_by_role("button", name="View alerts").click()
    view = page.get_by_test_id("alerts-view")
    expect(view.locator('tr[data-rule="live-calls"]')).to_have_attribute("data-state", "firing")
    expect(view.locator(".alert-history li").first).to_have_attribute("data-type", "alert_fired")

    # A reload reads the firing state from GET /api/alerts.
    page.reload()
    expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(banner).to_contain_text("live-calls")
    reads_after_reload = len(reads)

    alerting.post_events([{"type": "call_end", "call_id": "alert-call", "ts": time.time(), "data": {}}])
    expect(banner).to_have_count(0, timeout=10_000)
    page.get_by_test_id("alerts-button").click()
    expect(view.locator('tr[data-rule="live-calls"]')).to_have_attribute("data-state", "inactive")
    history = view.locator(".alert-history li")
    expect(history.first).to_have_attribute("data-type", "alert_resolved")
    expect(history.nth(1)).to_have_attribute("data-type", "alert_fired")
    assert len(reads) == reads_after_reload, "the resolution came from the stream, not a new read"
    page.keyboard.press("Escape")
    expect(view).to_have_count(0)


def _alerts_read(r: Request) -> bool:
    return r.url.split("?")[0].endswith("/api/alerts")
