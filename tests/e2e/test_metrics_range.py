"""Issue 14: the metrics row shows the chosen time range over the whole log (live calls stay live)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import HarnessError, Server, finished_call_events, live_call_events, open_dashboard, run_server
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HOUR, DAY = 3600, 86400
# (age, turns, status) of each call: 3 today (one failed), 5 three days ago, 2 ten days ago.
CALLS = [(2 * HOUR + i * 600, 1, "failed" if i == 0 else None) for i in range(3)]
CALLS += [(3 * DAY + i * 600, 3, None) for i in range(5)]
CALLS += [(10 * DAY + i * 600, 2, None) for i in range(2)]


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        with run_server(Path(tmp_path_factory.mktemp("metrics-range"))) as server:
            now = time.time()
            for i, (age, turns, status) in enumerate(CALLS):
                server.post_events(
                    finished_call_events(
                        f"mr-{i}", caller=f"+1555777{i:04d}", callee="+1", start=now - age, turns=turns, status=status
                    )
                )
            server.post_events(live_call_events("mr-live", caller="+15557770099", callee="+1", start=now, turns=0))
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def test_the_cards_follow_the_range_and_say_which(spread: Server, page: Page) -> None:
    open_dashboard(page, spread)
    page.goto(spread.url("/?range=24h"))
    total, outcomes, p95 = (page.get_by_test_id(t) for t in ("metric-total-calls", "outcomes", "metric-p95"))
    metrics = page.get_by_role("region", name=re.compile("Summary metrics"))
    expect(total).to_have_text("4")  # 3 ended today + the live one
    expect(outcomes).to_have_text("2 completed · 1 failed · 1 live")
    expect(p95.locator("xpath=..")).to_contain_text(re.compile(r"\b3 turns"))
    expect(page.get_by_role("group", name="Total Calls, last 24 hours")).to_be_visible()
    expect(metrics).to_contain_text("last 24 hours")
    cost_24h = page.get_by_test_id("metric-total-cost").inner_text()

    range_group = page.get_by_role("group", name="Time range")
    range_group.get_by_role("button", name="7d").click()
    expect(total).to_have_text("9")
    expect(outcomes).to_have_text("7 completed · 1 failed · 1 live")
    expect(p95.locator("xpath=..")).to_contain_text(re.compile(r"\b18 turns"))
    expect(page.get_by_role("group", name="Total Cost, last 7 days")).to_be_visible()
    expect(page.get_by_test_id("metric-total-cost")).not_to_have_text(cost_24h)

    range_group.get_by_role("button", name="All").click()
    expect(total).to_have_text("11")
    expect(p95.locator("xpath=..")).to_contain_text(re.compile(r"\b22 turns"))
    expect(page.get_by_role("group", name="Avg Duration, all time")).to_be_visible()

    # A custom range that ended days ago: the live call is not in it.
    range_group.get_by_role("button", name="Custom").click()
    first = time.strftime("%Y-%m-%d", time.localtime(time.time() - 12 * DAY))
    last = time.strftime("%Y-%m-%d", time.localtime(time.time() - 5 * DAY))
    range_group.get_by_label("From").fill(first)
    range_group.get_by_label("To", exact=True).fill(last)
    expect(total).to_have_text("2")
    expect(outcomes).to_have_text("2 completed · 1 live")  # live is now, whatever the range

    # A new call ending now counts at once in an open range.
    range_group.get_by_role("button", name="24h").click()
    expect(total).to_have_text("4")
    spread.post_events([{"type": "call_end", "call_id": "mr-live", "ts": time.time(), "data": {"status": "completed"}}])
    expect(outcomes).to_have_text("3 completed · 1 failed · 0 live")
    expect(total).to_have_text("4")
