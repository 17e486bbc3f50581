"""Issue 14's history view: a time range in the URL and charts over the whole log, in real Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import HarnessError, Server, finished_call_events, open_dashboard, run_server
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HOUR = 3600
CALLS = 40


@pytest.fixture(scope="module")
def history_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose log holds six days of calls: every ~3.6 h, one in four busy."""
    try:
        with run_server(Path(tmp_path_factory.mktemp("history"))) as server:
            now = time.time()
            events = []
            for n in range(CALLS):
                start = now - 6 * 24 * HOUR + n * 3.6 * HOUR
                events += finished_call_events(
                    f"hist-{n:02d}",
                    caller=f"+1555010{n:04d}",
                    callee="+15550000000",
                    start=start,
                    status="busy" if n % 4 == 0 else None,
                )
            server.post_events(events)
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def test_the_time_range_lives_in_the_url_and_the_charts_follow_it(page: Page, history_server: Server) -> None:
    open_dashboard(page, history_server)
    page.goto(history_server.url("/?range=7d"))
    calls = page.get_by_test_id("chart-calls")
    expect(page.get_by_test_id("history-summary")).to_contain_text(f"{CALLS} calls")
    expect(calls.locator("g.bar")).to_have_count(7 * 24 + 1)  # hourly buckets over 7 days (+ a partial one)
    expect(calls.locator("rect.seg-no_answer")).to_have_count(CALLS // 4)
    expect(calls.locator("rect.seg-completed")).to_have_count(CALLS - CALLS // 4)
    expect(page.get_by_test_id("chart-cost").locator("rect.seg-llm")).to_have_count(CALLS)
    # three turns per call: every point is marked as too few turns to trust its P95
    expect(page.get_by_test_id("chart-latency").locator("circle.pt.few")).to_have_count(CALLS)
    for metric in ("metric-total-calls", "metric-total-cost", "metric-avg-duration", "metric-avg-latency"):
        expect(page.get_by_test_id(f"{metric}-trend").locator("polyline")).to_have_count(1)  # a trend per card

    page.get_by_role("group", name="Time range").get_by_role("button", name="24h").click()
    expect(page).to_have_url(history_server.url("/?range=24h"))
    expect(calls.locator("g.bar")).to_have_count(24 * 4 + 1)  # 15-minute buckets
    page.reload()
    expect(page.get_by_role("button", name="24h")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("history-summary")).to_contain_text("calls")
