"""One time range on the page: the charts, the table (and its filters) and the exports all follow it."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import HarnessError, Server, finished_call_events, open_dashboard, run_server
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

DAY = 86400
AGES = {"tr-2h": 2 * 3600, "tr-3d": 3 * DAY, "tr-10d": 10 * DAY}  # call id -> how long ago it started


@pytest.fixture(scope="module")
def ranged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        with run_server(Path(tmp_path_factory.mktemp("range"))) as server:
            now = time.time()
            for i, (call_id, age) in enumerate(AGES.items()):
                server.post_events(
                    finished_call_events(call_id, caller=f"+1555888{i:04d}", callee="+1", start=now - age, turns=1)
                )
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def rows(page: Page) -> list[str]:
    return sorted(page.locator("tbody tr[data-call-id]").evaluate_all("rs => rs.map(r => r.dataset.callId)"))


def test_charts_table_and_exports_follow_one_range_in_the_url(ranged: Server, page: Page) -> None:
    open_dashboard(page, ranged)
    page.goto(ranged.url("/?range=24h"))
    table = page.locator("tbody tr[data-call-id]")
    summary = page.get_by_test_id("history-summary")
    expect(table).to_have_count(1)
    assert rows(page) == ["tr-2h"]
    expect(summary).to_contain_text("1 call ")
    csv_link = page.get_by_role("link", name="CSV")
    href = parse_qs(urlsplit(csv_link.get_attribute("href") or "").query)
    assert "from" in href and "to" not in href  # the table's range, open at the end

    page.get_by_role("group", name="Time range").get_by_role("button", name="7d").click()
    expect(page).to_have_url(ranged.url("/?range=7d"))
    expect(table).to_have_count(2)
    assert rows(page) == ["tr-2h", "tr-3d"]
    expect(summary).to_contain_text("2 calls")

    # A custom range of days, in the URL too; the table's filters add to it.
    page.get_by_role("group", name="Time range").get_by_role("button", name="Custom").click()
    first, last = (date.today() - timedelta(days=11)).isoformat(), (date.today() - timedelta(days=2)).isoformat()
    group = page.get_by_role("group", name="Time range")
    group.get_by_label("From").fill(first)
    group.get_by_label("To", exact=True).fill(last)
    expect(page).to_have_url(ranged.url(f"/?range=custom&from={first}&to={last}"))
    expect(table).to_have_count(2)
    assert rows(page) == ["tr-10d", "tr-3d"]
    expect(summary).to_contain_text("2 calls")
    page.get_by_label("Search").fill("+15558880002")
    expect(table).to_have_count(1)

    with page.expect_download() as csv_info:
        csv_link.click()
    query = parse_qs(urlsplit(csv_info.value.url).query)
    assert "from" in query and "to" in query and query["q"] == ["+15558880002"]
    exported = list(csv.DictReader(io.StringIO(csv_info.value.path().read_text())))
    assert [r["call_id"] for r in exported] == ["tr-10d"]

    page.reload()  # the range is shared through the address
    expect(page.get_by_role("button", name="Custom")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("group", name="Time range").get_by_label("From")).to_have_value(first)
    expect(summary).to_contain_text("2 calls")
