"""Issue 14: clicking (or Enter on) a chart bucket narrows the table and exports to it, as a chip in the URL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import HarnessError, Server, finished_call_events, open_dashboard, run_server
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HOUR = 3600
AGES = {"bk-a": 30 * HOUR, "bk-b": 30 * HOUR + 120, "bk-c": 50 * HOUR, "bk-d": 75 * HOUR}
STARTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def buckets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        with run_server(Path(tmp_path_factory.mktemp("buckets"))) as server:
            now = time.time()
            for i, (call_id, age) in enumerate(AGES.items()):
                STARTS[call_id] = now - age
                server.post_events(
                    finished_call_events(call_id, caller=f"+1555666{i:04d}", callee="+1", start=now - age, turns=1)
                )
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def rows(page: Page) -> list[str]:
    return sorted(page.locator("tbody tr[data-call-id]").evaluate_all("rs => rs.map(r => r.dataset.callId)"))


def in_bucket(t: int, seconds: int) -> list[str]:
    return sorted(c for c, s in STARTS.items() if t <= s < t + seconds)


def when(query: dict[str, list[str]], name: str) -> float:
    return datetime.fromisoformat(query[name][0].replace("Z", "+00:00")).timestamp()


def test_a_clicked_bucket_narrows_table_and_exports_until_its_chip_is_removed(buckets: Server, page: Page) -> None:
    open_dashboard(page, buckets)
    page.goto(buckets.url("/?range=7d"))
    table = page.locator("tbody tr[data-call-id]")
    expect(table).to_have_count(4)
    chart = page.get_by_test_id("chart-calls")
    filled = chart.locator("g.bar:has(rect.seg)")
    expect(filled).to_have_count(3)
    starts = [int(t) for t in filled.evaluate_all("gs => gs.map(g => g.dataset.t)")]
    two = next(t for t in starts if len(in_bucket(t, HOUR)) == 2)  # bk-a and bk-b share an hour

    bar = chart.locator(f'g.bar[data-t="{two}"]')
    expect(bar).to_have_attribute("aria-label", re.compile(r"^Calls .+: 2 completed"))
    bar.click()
    expect(table).to_have_count(2)
    assert rows(page) == ["bk-a", "bk-b"]
    chip = page.get_by_role("button", name=re.compile("^Remove the bucket filter"))
    expect(chip).to_be_visible()
    expect(bar).to_have_attribute("aria-pressed", "true")
    assert parse_qs(urlsplit(page.url).query)["bucket"] == [f"{two}-{two + HOUR}"]
    query = parse_qs(urlsplit(page.get_by_role("link", name="CSV").get_attribute("href") or "").query)
    assert when(query, "from") == two and two + HOUR - 1 <= when(query, "to") < two + HOUR  # [from, to)

    page.reload()  # the chip is in the address
    expect(chip).to_be_visible()
    expect(table).to_have_count(2)

    chip.click()
    expect(chip).to_have_count(0)
    expect(table).to_have_count(4)
    assert "bucket" not in parse_qs(urlsplit(page.url).query)

    # The latency chart's buckets narrow the same way.
    other = next(t for t in starts if in_bucket(t, HOUR) == ["bk-c"])
    page.get_by_test_id("chart-latency").locator(f'g.bucket[data-t="{other}"]').click()
    expect(table).to_have_count(1)
    assert rows(page) == ["bk-c"]
    page.get_by_role("button", name=re.compile("^Remove the bucket filter")).click()
    expect(table).to_have_count(4)

    # A new range drops the bucket.
    chart.locator(f'g.bar[data-t="{other}"]').click()
    expect(table).to_have_count(1)
    page.get_by_role("group", name="Time range").get_by_role("button", name="30d").click()
    expect(table).to_have_count(4)
    expect(chip).to_have_count(0)


def test_buckets_are_reachable_and_chosen_from_the_keyboard(buckets: Server, page: Page) -> None:
    open_dashboard(page, buckets)
    page.goto(buckets.url("/?range=7d"))
    table = page.locator("tbody tr[data-call-id]")
    expect(table).to_have_count(4)
    chart = page.get_by_test_id("chart-cost")
    # One tab stop per chart: Tab from the range control's last button lands on a bucket.
    page.get_by_role("group", name="Time range").get_by_role("button", name="Custom").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('[data-testid]')?.dataset.testid")
    assert focused == "chart-calls"
    assert chart.locator('[tabindex="0"]').count() == 1
    last = chart.locator("g.bar").last
    last.focus()
    t = int(last.get_attribute("data-t") or "0")
    # Left arrow walks back to the nearest earlier bucket holding calls.
    target = max(int(s) for s in chart.locator("g.bar:has(rect.seg)").evaluate_all("gs => gs.map(g => g.dataset.t)"))
    for _ in range((t - target) // HOUR):
        page.keyboard.press("ArrowLeft")
    active = page.evaluate("document.activeElement.dataset.t")
    assert int(active) == target
    expect(chart.locator(f'g.bar[data-t="{target}"]')).to_have_attribute("aria-label", re.compile(r"^Cost .+: .*\$"))
    page.keyboard.press("Enter")
    expect(table).to_have_count(len(in_bucket(target, HOUR)))
    assert rows(page) == in_bucket(target, HOUR)
    expect(page.get_by_role("button", name=re.compile("^Remove the bucket filter"))).to_be_visible()
