"""Issue 14: with many live calls the rail stays within the viewport (compact cards, its list scrolls)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from e2e_harness import Server, live_call_events
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LIVE = 12
VIEWPORT_H = 900


def end(call_id: str) -> dict[str, Any]:
    return {"type": "call_end", "call_id": call_id, "ts": time.time(), "data": {"status": "completed"}}


def test_many_live_calls_fit_the_viewport_and_scroll(server: Server, dashboard: Page) -> None:
    ids = [f"rail-{uuid.uuid4().hex[:8]}-{i:02d}" for i in range(LIVE)]
    now = time.time()
    events = [
        e
        for i, cid in enumerate(ids)
        for e in live_call_events(cid, caller=f"+1555040{i:04d}", callee="+15550409999", start=now - i, turns=1)
    ]
    try:
        server.post_events(events)
        rail = dashboard.locator(".rail")
        expect(rail.locator(".live-card")).to_have_count(LIVE, timeout=5_000)
        cards = rail.locator(".live-list.compact .live-card")
        expect(cards).to_have_count(LIVE)
        assert rail.locator(".live-transcript").count() == 0  # compact: one line, not the transcript
        expect(cards.first.locator(".live-last")).not_to_be_empty()

        rail.scroll_into_view_if_needed()
        box = rail.bounding_box()
        assert box is not None and box["height"] <= VIEWPORT_H, box
        heights = [c.bounding_box()["height"] for c in cards.all()]  # type: ignore[index]
        assert max(heights) <= 80, heights
        listing = rail.locator(".live-list")
        assert listing.evaluate("el => el.scrollHeight > el.clientHeight")  # it scrolls rather than grows

        last = rail.locator(f'.live-card[data-call-id="{ids[-1]}"]')  # the oldest is listed last
        last.locator(".live-title").click()  # Playwright scrolls the list to reach it
        expect(dashboard.get_by_role("dialog", name="Call detail")).to_contain_text(ids[-1])
    finally:
        server.post_events([end(cid) for cid in ids])
