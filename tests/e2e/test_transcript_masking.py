"""Issue 14: numbers said in a call (transcript, tool calls, reasons) are masked like the number columns."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from e2e_harness import Server, finished_call_events, live_call_events
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SAID = "Please call me back on +1 (555) 010-6291 before 20:00."
TOOL_NUMBER = "+15550107777"
REASON = "transferred to 555.010.4242"


def said_events(call_id: str, start: float) -> list[dict[str, Any]]:
    """A whole call whose first line, tool call and failure reason hold phone numbers."""
    events = finished_call_events(call_id, caller="+15550100001", callee="+15550100002", start=start, status="failed")
    for ev in events:
        if ev["type"] == "transcript_line" and ev["data"]["turnIndex"] == 0 and ev["data"]["role"] == "user":
            ev["data"]["text"] = SAID
        if ev["type"] == "call_event":
            ev["data"]["detail"] = {"transfer_to": TOOL_NUMBER, "party": 2}
        if ev["type"] == "call_end":
            ev["data"]["transcript"][0]["text"] = SAID
    status = {
        "type": "call_status",
        "call_id": call_id,
        "ts": start + 20,
        "data": {"status": "failed", "reason": REASON},
    }
    return [*events[:-1], status, events[-1]]


def test_numbers_inside_text_are_masked_until_revealed(server: Server, dashboard: Page) -> None:
    call_id, live = f"said-{uuid.uuid4().hex[:8]}", f"said-live-{uuid.uuid4().hex[:8]}"
    now = time.time()
    server.post_events(said_events(call_id, now - 120))
    live_events = live_call_events(live, caller="+15550100003", callee="+15550100004", start=now, turns=1)
    live_events[1]["data"]["text"] = SAID
    server.post_events(live_events)
    try:
        card = dashboard.locator(f'.live-card[data-call-id="{live}"]')
        expect(card).to_contain_text("•••6291", timeout=5_000)
        expect(card).not_to_contain_text("010-6291")

        # Search still matches the full number said in the call (server-side).
        dashboard.get_by_placeholder("number or words").fill("(555) 010-6291")
        row = dashboard.locator(f'tr[data-call-id="{call_id}"]')
        expect(row).to_be_visible(timeout=5_000)
        row.click()
        panel = dashboard.get_by_role("dialog", name="Call detail")
        timeline = panel.locator(".timeline")
        expect(timeline).to_contain_text("Please call me back on •••6291 before 20:00.")  # times stay
        expect(timeline).to_contain_text("•••7777")
        expect(panel.get_by_test_id("fact-reason")).to_contain_text("transferred to •••4242")
        body = dashboard.locator("body").inner_text()
        for full in ("010-6291", TOOL_NUMBER, "010.4242"):
            assert full not in body, full

        panel.get_by_role("button", name="Close call detail").click()
        dashboard.get_by_test_id("reveal-numbers").click()  # the same toggle as the number columns
        expect(card).to_contain_text(SAID)
        row.click()
        expect(timeline).to_contain_text(SAID)
        expect(timeline).to_contain_text(TOOL_NUMBER)
        expect(panel.get_by_test_id("fact-reason")).to_contain_text(REASON)
        panel.get_by_role("button", name="Close call detail").click()
        dashboard.get_by_test_id("reveal-numbers").click()
        expect(card).to_contain_text("•••6291")
        expect(card).not_to_contain_text("010-6291")
    finally:
        server.post_events([{"type": "call_end", "call_id": live, "ts": time.time(), "data": {"status": "completed"}}])


def test_numbers_can_be_revealed_while_a_call_is_open(server: Server, dashboard: Page) -> None:
    # the open detail covers the top bar's toggle on a desktop-sized window: it carries its own
    call_id = f"said-open-{uuid.uuid4().hex[:8]}"
    server.post_events(said_events(call_id, time.time() - 60))
    dashboard.locator(f'tr[data-call-id="{call_id}"]').click(timeout=5_000)
    panel = dashboard.get_by_role("dialog", name="Call detail")
    timeline = panel.locator(".timeline")
    expect(timeline).to_contain_text("•••6291")
    toggle = panel.get_by_role("button", name="Show numbers")
    toggle.click()  # a real click: it fails if anything covers the button
    expect(timeline).to_contain_text(SAID)
    expect(panel.locator(".detail-numbers")).to_contain_text("+15550100001")
    expect(dashboard.get_by_test_id("reveal-numbers")).to_have_attribute("aria-pressed", "true")  # one choice
    panel.get_by_role("button", name="Hide numbers").click()
    expect(timeline).to_contain_text("•••6291")
