"""Issue 14: axe-core finds no serious/critical violations on the main views; usable at 390 px wide."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import ROOT, Server, finished_call_events, live_call_events, open_dashboard
from playwright.sync_api import Browser, BrowserContext, Page, expect

pytestmark = pytest.mark.browser

# axe-core from the UI's devDependencies (npm ci in ui/), never a CDN.
AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `cd ui && npm ci`", pytrace=False)
    width, scheme = getattr(request, "param", (1440, "dark"))
    # bypass_csp: the injected axe script is inline; the app's own CSP is tested elsewhere.
    ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
    yield ctx
    ctx.close()


def serious(page: Page) -> list[str]:
    """axe violations of impact serious or critical, one line each."""
    page.add_script_tag(path=str(Path(AXE)))
    result: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def seed(server: Server) -> tuple[str, str]:
    done, live = f"a11y-{uuid.uuid4().hex[:8]}", f"a11y-live-{uuid.uuid4().hex[:8]}"
    now = time.time()
    server.post_events(finished_call_events(done, caller="+15550700001", callee="+15550700002", start=now - 90))
    server.post_events(live_call_events(live, caller="+15550700003", callee="+15550700004", start=now, turns=1))
    return done, live


def end(server: Server, call_id: str) -> None:
    server.post_events([{"type": "call_end", "call_id": call_id, "ts": time.time(), "data": {"status": "completed"}}])


THEMES_AND_WIDTHS = [(1440, "dark"), (1440, "light"), (390, "dark"), (390, "light")]


def pick_a_bucket(page: Page) -> None:
    """Narrow the table to the newest chart bucket holding calls (the chip and a chosen bucket show)."""
    page.get_by_test_id("chart-calls").locator("g.bar:has(rect.seg)").last.click()
    expect(page.get_by_test_id("bucket-chip")).to_be_visible()


@pytest.mark.parametrize("axe_context", THEMES_AND_WIDTHS, indirect=True)
def test_main_views_have_no_serious_axe_violations(axe_context: BrowserContext, server: Server) -> None:
    done, live = seed(server)
    try:
        page = open_dashboard(axe_context.new_page(), server)
        expect(page.locator(f'tr[data-call-id="{done}"]')).to_be_visible(timeout=5_000)
        expect(page.locator(f'.live-card[data-call-id="{live}"]')).to_be_visible()
        assert serious(page) == [], "dashboard"
        pick_a_bucket(page)
        assert serious(page) == [], "dashboard narrowed to a chart bucket"
        page.locator(f'tr[data-call-id="{done}"]').click()
        expect(page.get_by_role("dialog", name="Call detail")).to_contain_text("Providers")
        assert serious(page) == [], "call detail"
        page.keyboard.press("Escape")
        page.get_by_test_id("alerts-button").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        assert serious(page) == [], "alerts"
    finally:
        end(server, live)


def within(locator: Any, name: str) -> None:
    """The element's box lies inside the 390 px wide viewport (reachable without scrolling sideways)."""
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)


@pytest.mark.parametrize("axe_context", [(390, "dark"), (390, "light")], indirect=True)
def test_usable_at_390_px(axe_context: BrowserContext, server: Server) -> None:
    done, live = seed(server)
    try:
        page = open_dashboard(axe_context.new_page(), server)
        expect(page.locator(f'tr[data-call-id="{done}"]')).to_be_visible(timeout=5_000)
        # The page itself never scrolls sideways (a wide table scrolls inside its own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ranges = page.get_by_role("group", name="Time range")
        for name in ("1h", "24h", "7d", "30d", "All", "Custom"):
            within(ranges.get_by_role("button", name=name), name)
        for tid in ("chart-calls", "chart-latency", "chart-cost", "metric-total-calls", "metric-p95"):
            within(page.get_by_test_id(tid), tid)
        within(page.get_by_label("Search"), "search")
        pick_a_bucket(page)
        within(page.get_by_role("button", name=re.compile("^Remove the bucket filter")), "bucket chip")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_role("button", name=re.compile("^Remove the bucket filter")).click()
        page.locator(f'tr[data-call-id="{done}"]').click()
        panel = page.get_by_role("dialog", name="Call detail")
        expect(panel).to_contain_text("Providers")
        box = panel.bounding_box()
        assert box is not None and box["x"] >= 0 and box["width"] <= 390, box
        page.keyboard.press("Escape")
        expect(panel).to_have_count(0)
        for tid in ("reveal-numbers", "theme-toggle", "alerts-button"):  # the top bar wraps, not off the edge
            box = page.get_by_test_id(tid).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (tid, box)
    finally:
        end(server, live)
