"""The dashboard in a real headless Chromium against a real patterdash server."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from e2e_harness import PageLog, Server, finished_call_events, live_call_events, open_dashboard, read_token
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

# Live updates arrive over SSE (the page never polls): a bound that a loaded CI box meets (2 s flaked).
LIVE = 5_000

XSS = "<img src=x onerror=window.__xss=1>"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def row(page: Page, call_id: str):
    return page.locator(f'tr[data-call-id="{call_id}"]')


def card(page: Page, call_id: str):
    return page.locator(f'.live-card[data-call-id="{call_id}"]')


def test_page_loads_with_no_console_errors_and_bundled_font(server: Server, page: Page, page_log: PageLog) -> None:
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/dashboard/events" in r.url else None)
    dashboard = open_dashboard(page, server)
    expect(dashboard.get_by_role("heading", name="patterdash")).to_be_visible()
    expect(dashboard.get_by_text("Total Calls")).to_be_visible()
    dashboard.wait_for_function("document.fonts.ready.then(() => true)")
    assert dashboard.evaluate("document.fonts.check('12px \"JetBrains Mono\"')")
    assert page_log.problems() == []
    assert len(streams) == 1, f"expected exactly one EventSource, saw {streams}"


def test_csp_header_allows_the_bundle(server: Server, dashboard: Page, page_log: PageLog) -> None:
    response = dashboard.goto(server.url("/"))
    assert response is not None and "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    expect(dashboard.locator(".conn")).to_have_attribute("data-state", "live")
    assert not [t for _, t in page_log.console if "Content Security Policy" in t]


def test_live_call_streams_into_the_rail_then_moves_to_the_table(
    server: Server, dashboard: Page, page_log: PageLog
) -> None:
    call_id = new_id("live")
    now = time.time()
    events = live_call_events(call_id, caller="+15550001111", callee="+15550002222", start=now, turns=1)
    server.post_events(events[:1])
    live = card(dashboard, call_id)
    expect(live).to_be_visible(timeout=LIVE)
    expect(live).to_contain_text("•••1111")  # masked by default
    expect(live.get_by_test_id("live-duration")).to_have_text(re.compile(r"^\d+:\d\d$"))

    server.post_events(events[1:2])  # the caller speaks
    expect(live.locator(".line-user")).to_contain_text("book a table", timeout=LIVE)
    expect(live.locator(".line-user .speaker")).to_have_text("User")
    server.post_events(events[2:])  # agent line + turn_complete with latency
    expect(live.locator(".line-assistant")).to_contain_text("What time works best", timeout=LIVE)
    waterfall = live.get_by_role("table", name=re.compile("Latency of turn 0"))
    expect(waterfall).to_contain_text("LLM first token")
    expect(waterfall.locator(".wf-total")).to_contain_text("670 ms")  # 180 + 310 + 140 + 40
    running = live.get_by_role("table", name="Running cost")
    expect(running.locator(".cost-total")).to_contain_text("$0.0076")
    expect(running).to_contain_text("Telephony")

    # The live call's detail panel follows the call and turns into the final record on call_end.
    live.locator(".live-title").click()
    panel = dashboard.get_by_role("dialog", name="Call detail")
    expect(panel).to_contain_text("in-progress")
    expect(panel.locator(".timeline")).to_contain_text("book a table")

    end = finished_call_events(call_id, caller="+15550001111", callee="+15550002222", start=now, turns=1, tool=False)[
        -1
    ]
    server.post_events([end])
    expect(live).to_have_count(0, timeout=LIVE)
    expect(row(dashboard, call_id)).to_be_visible(timeout=LIVE)
    expect(row(dashboard, call_id)).to_contain_text("completed")
    expect(panel.locator(".badge")).to_have_text("completed", timeout=LIVE)
    expect(panel).to_contain_text("gpt-4o-mini")
    assert dashboard.locator(".rail").get_by_text("•••1111").count() == 0
    assert page_log.errors == []


def test_detail_panel_shows_waterfall_cost_providers_and_timeline(server: Server, dashboard: Page) -> None:
    call_id = new_id("detail")
    server.post_events(
        finished_call_events(call_id, caller="+15550003333", callee="+15550004444", start=time.time() - 60, turns=2)
    )
    target = row(dashboard, call_id)
    expect(target).to_be_visible(timeout=LIVE)
    target.click()
    panel = dashboard.get_by_role("dialog", name="Call detail")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("•••3333")
    expect(panel.get_by_role("table", name="Average latency")).to_contain_text("TTS first byte")
    expect(panel.get_by_role("table", name="P95 latency")).to_contain_text("STT")
    expect(panel.get_by_test_id("p95-note")).to_contain_text("only 2 turns")
    costs = panel.get_by_role("table", name="Cost breakdown")
    expect(costs).to_contain_text("Telephony")
    expect(costs.locator(".cost-total")).to_contain_text("$0.0316")
    expect(panel).to_contain_text("gpt-4o-mini")
    expect(panel).to_contain_text("deepgram")
    timeline = panel.locator(".timeline")
    expect(timeline).to_contain_text("check_availability")
    expect(timeline.locator(".line-user").first).to_contain_text("book a table")
    dashboard.keyboard.press("Escape")
    expect(panel).to_have_count(0)


def test_keyboard_opens_detail_and_arrows_move_between_rows(server: Server, dashboard: Page) -> None:
    first, second = new_id("kb1"), new_id("kb2")
    now = time.time()
    server.post_events(
        finished_call_events(first, caller="+15550005551", callee="+15550009999", start=now - 30, turns=1)
    )
    server.post_events(
        finished_call_events(second, caller="+15550005552", callee="+15550009999", start=now - 20, turns=1)
    )
    expect(row(dashboard, second)).to_be_visible(timeout=LIVE)
    expect(row(dashboard, first)).to_be_visible(timeout=LIVE)
    row(dashboard, second).focus()
    dashboard.keyboard.press("Enter")
    panel = dashboard.get_by_role("dialog", name="Call detail")
    expect(panel).to_contain_text("•••5552")
    row(dashboard, second).focus()
    # Newest first: an older call is below (another module's call may sit between the two).
    below = row(dashboard, second).locator("xpath=following-sibling::tr[1]")
    below_id = below.get_attribute("data-call-id")
    dashboard.keyboard.press("ArrowDown")
    expect(below).to_be_focused()
    expect(panel).to_contain_text(str(below_id))


def test_export_buttons_download_csv_and_json(server: Server, dashboard: Page) -> None:
    call_id = new_id("export")
    server.post_events(
        finished_call_events(call_id, caller="+15550006666", callee="+15550007777", start=time.time() - 40, turns=1)
    )
    expect(row(dashboard, call_id)).to_be_visible(timeout=LIVE)
    with dashboard.expect_download() as csv_info:
        dashboard.get_by_role("link", name="CSV").click()
    csv_path = csv_info.value.path()
    assert csv_info.value.suggested_filename.endswith(".csv")
    assert call_id in csv_path.read_text()
    with dashboard.expect_download() as json_info:
        dashboard.get_by_role("link", name="JSON").click()
    assert json_info.value.suggested_filename.endswith(".json")
    exported = json.loads(json_info.value.path().read_text())
    records = exported if isinstance(exported, list) else exported.get("calls", [])
    assert any(r.get("call_id") == call_id for r in records)


def test_filters_and_search_narrow_the_table(server: Server, dashboard: Page) -> None:
    done, busy = new_id("flt-ok"), new_id("flt-busy")
    now = time.time()
    server.post_events(
        finished_call_events(
            done, caller="+15551230001", callee="+15550000000", start=now - 50, turns=1, direction="outbound"
        )
    )
    server.post_events(
        finished_call_events(busy, caller="+15551230002", callee="+15550000000", start=now - 45, turns=1, status="busy")
    )
    expect(row(dashboard, busy)).to_be_visible(timeout=LIVE)
    dashboard.get_by_label("Status").select_option("busy")
    expect(row(dashboard, done)).to_have_count(0)
    expect(row(dashboard, busy)).to_be_visible()
    dashboard.get_by_label("Status").select_option("")
    dashboard.get_by_label("Direction").select_option("outbound")
    expect(row(dashboard, busy)).to_have_count(0)
    expect(row(dashboard, done)).to_be_visible()
    dashboard.get_by_label("Direction").select_option("")
    dashboard.get_by_label("Search").fill("+15551230002")
    expect(row(dashboard, done)).to_have_count(0)
    expect(row(dashboard, busy)).to_be_visible()
    expect(dashboard.locator(".pager")).to_contain_text("1\u20131 of 1")


def test_delete_from_the_detail_panel_removes_the_row(server: Server, dashboard: Page) -> None:
    call_id = new_id("delete")
    server.post_events(
        finished_call_events(call_id, caller="+15550008888", callee="+15550009999", start=time.time() - 30, turns=1)
    )
    expect(row(dashboard, call_id)).to_be_visible(timeout=LIVE)
    row(dashboard, call_id).click()
    panel = dashboard.get_by_role("dialog", name="Call detail")
    panel.get_by_role("button", name="Delete call").click()
    panel.get_by_role("button", name="Confirm delete").click()
    expect(row(dashboard, call_id)).to_have_count(0, timeout=LIVE)
    expect(panel).to_have_count(0)
    status, _ = server.request("GET", f"/api/dashboard/calls/{call_id}")
    assert status == 404


def test_xss_in_transcript_and_caller_renders_as_text(server: Server, dashboard: Page, page_log: PageLog) -> None:
    call_id = new_id("xss")
    now = time.time()
    dashboard.get_by_test_id("reveal-numbers").click()  # the caller field carries the payload: show it in full
    server.post_events(
        [
            {
                "type": "call_start",
                "call_id": call_id,
                "ts": now,
                "data": {"caller": XSS, "callee": "+15550000001", "direction": "inbound"},
            },
            {
                "type": "transcript_line",
                "call_id": call_id,
                "ts": now + 1,
                "data": {"turnIndex": 0, "role": "user", "text": XSS},
            },
        ]
    )
    live = card(dashboard, call_id)
    expect(live.locator(".line-user .line-text")).to_have_text(XSS, timeout=LIVE)
    expect(live.locator(".live-title")).to_contain_text(XSS)
    server.post_events(
        [
            {
                "type": "call_end",
                "call_id": call_id,
                "ts": now + 5,
                "data": {
                    "metrics": {"duration_seconds": 5},
                    "transcript": [{"role": "user", "text": XSS, "turnIndex": 0}],
                },
            }
        ]
    )
    expect(row(dashboard, call_id)).to_contain_text(XSS, timeout=LIVE)
    row(dashboard, call_id).click()
    expect(dashboard.get_by_role("dialog").locator(".timeline .line-text").first).to_have_text(XSS)
    assert dashboard.locator('img[src="x"]').count() == 0
    assert dashboard.evaluate("typeof window.__xss") == "undefined"
    assert page_log.errors == []


def test_empty_state_explains_how_to_send_a_first_call(fresh_server: Server, page: Page, page_log: PageLog) -> None:
    open_dashboard(page, fresh_server)
    empty = page.get_by_role("region", name="No calls yet")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("patterdash serve --demo")
    expect(empty).to_contain_text("8000")
    expect(page.get_by_test_id("metric-p95")).to_have_text("—")
    # The curl example is a real, accepted request against this very server.
    curl = page.get_by_test_id("curl-example").inner_text()
    assert f"{fresh_server.base}/api/events" in curl
    payload = json.loads(curl.split("-d '", 1)[1].rsplit("'", 1)[0])
    status, body = fresh_server.request("POST", "/api/events", payload)
    assert status == 200, body
    expect(row(page, "hello-1")).to_be_visible(timeout=LIVE)
    expect(empty).to_have_count(0)
    # A live call shows in the rail and counts in Total Calls (completed + active).
    call_id = new_id("first")
    fresh_server.post_events(
        live_call_events(call_id, caller="+15550000042", callee="+15550000043", start=time.time(), turns=0)
    )
    expect(card(page, call_id)).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("metric-total-calls")).to_have_text("2", timeout=LIVE)
    assert page_log.problems() == []


def test_stream_resumes_after_a_server_restart(tmp_path: Path, browser: Browser) -> None:
    from e2e_harness import run_server

    db = tmp_path / "restart.db"
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        with run_server(tmp_path / "a", db=db) as first:
            port = first.port
            open_dashboard(page, first)
        expect(page.locator(".conn")).to_have_attribute("data-state", "reconnecting", timeout=5_000)
        with run_server(tmp_path / "b", db=db, port=port) as second:
            call_id = new_id("resume")
            second.post_events(
                live_call_events(call_id, caller="+15550000077", callee="+15550000078", start=time.time(), turns=1)
            )
            expect(card(page, call_id)).to_be_visible(timeout=20_000)
            expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    finally:
        ctx.close()


def test_closed_stream_is_reopened_with_last_event_id_and_nothing_is_lost(tmp_path: Path, browser: Browser) -> None:
    """A non-200 answer closes an EventSource for good: the page reopens it itself, resuming from its last seq."""
    from e2e_harness import run_server, stop_server

    db = tmp_path / "closed.db"
    seen_before, missed = new_id("seen"), new_id("missed")
    ctx = browser.new_context()
    stream_urls: list[str] = []
    try:
        page = ctx.new_page()
        page.on("request", lambda r: stream_urls.append(r.url) if "/api/dashboard/events" in r.url else None)
        with run_server(tmp_path / "a", db=db) as first:
            port = first.port
            open_dashboard(page, first)
            first.post_events(
                live_call_events(seen_before, caller="+15550000101", callee="+15550000102", start=time.time(), turns=0)
            )
            expect(card(page, seen_before)).to_be_visible(timeout=LIVE)
            # While the server is away the stream answers 503, which closes the EventSource.
            page.route("**/api/dashboard/events*", lambda r: r.fulfill(status=503, body="down"))
            with page.expect_response(lambda r: "/api/dashboard/events" in r.url and r.status == 503, timeout=15_000):
                stop_server(first)  # the browser's own retry then meets the 503 and closes the stream
        with page.expect_response(lambda r: "last_event_id=" in r.url and r.status == 503, timeout=15_000):
            pass  # our own reopen, resuming from the last seq seen
        expect(page.locator(".conn")).to_have_attribute("data-state", "reconnecting")
        with run_server(tmp_path / "b", db=db, port=port) as second:
            second.post_events(
                live_call_events(missed, caller="+15550000103", callee="+15550000104", start=time.time(), turns=1)
            )
            page.unroute("**/api/dashboard/events*")
            expect(card(page, missed)).to_be_visible(timeout=20_000)
            expect(card(page, missed).locator(".line-user")).to_contain_text("book a table")
            expect(page.locator(".conn")).to_have_attribute("data-state", "live")
        assert any("last_event_id=" in u for u in stream_urls), stream_urls
    finally:
        ctx.close()


def test_pagination_uses_limit_offset_and_total_count(fresh_server: Server, page: Page) -> None:
    base = time.time() - 3600
    events: list[dict] = []
    for i in range(30):
        events += finished_call_events(
            f"page-{i:02d}", caller=f"+1555000{i:04d}", callee="+15559990000", start=base + i * 60, turns=1, tool=False
        )
    fresh_server.post_events(events)
    open_dashboard(page, fresh_server)
    page.get_by_label("Rows").select_option("25")
    pager = page.locator(".pager")
    expect(pager).to_contain_text("1\u201325 of 30")
    expect(row(page, "page-29")).to_be_visible()  # newest first
    expect(row(page, "page-04")).to_have_count(0)
    pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text("26\u201330 of 30")
    expect(row(page, "page-04")).to_be_visible()
    expect(page.locator(".call-table tbody tr")).to_have_count(5)
    expect(pager.get_by_role("button", name="Next")).to_be_disabled()


def test_sorting_by_a_column_reorders_the_rows(fresh_server: Server, page: Page) -> None:
    now = time.time()
    cheap = {"stt": 0.001, "tts": 0.001, "llm": 0.001, "telephony": 0.001}
    pricey = {"stt": 0.1, "tts": 0.1, "llm": 0.1, "telephony": 0.1}
    fresh_server.post_events(
        finished_call_events(
            "sort-cheap", caller="+15550000201", callee="+1", start=now - 90, turns=1, cost=cheap, tool=False
        )
        + finished_call_events(
            "sort-pricey", caller="+15550000202", callee="+1", start=now - 300, turns=1, cost=pricey, tool=False
        )
    )
    open_dashboard(page, fresh_server)
    rows = page.locator(".call-table tbody tr")
    expect(rows.first).to_have_attribute("data-call-id", "sort-cheap")  # newest first
    header = page.get_by_role("columnheader", name="Cost")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_have_attribute("data-call-id", "sort-pricey")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_have_attribute("data-call-id", "sort-cheap")


def test_read_only_token_can_watch_but_sees_no_delete(server: Server, browser: Browser) -> None:
    call_id = new_id("readonly")
    server.post_events(
        finished_call_events(call_id, caller="+15550000301", callee="+15550000302", start=time.time() - 30, turns=1)
    )
    token = read_token(server)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{server.base}/?token={token}")
        expect(page.locator(".conn")).to_have_attribute("data-state", "live")
        row(page, call_id).click()
        panel = page.get_by_role("dialog", name="Call detail")
        expect(panel).to_contain_text("•••0301")
        expect(panel.get_by_text("Providers")).to_be_visible()  # the body has rendered
        expect(panel.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
        expect(page.get_by_role("checkbox", name=re.compile("Select"))).to_have_count(0)  # no bulk delete either
        # the admin session, on the same call, still has it
        admin = ctx.browser.new_context() if ctx.browser else None
        assert admin is not None
        try:
            other = open_dashboard(admin.new_page(), server)
            row(other, call_id).click()
            expect(other.get_by_role("dialog").get_by_role("button", name="Delete call")).to_be_visible()
        finally:
            admin.close()
    finally:
        ctx.close()


def test_tab_title_counts_live_calls(server: Server, dashboard: Page) -> None:
    call_id = new_id("title")
    server.post_events(
        live_call_events(call_id, caller="+15550000401", callee="+15550000402", start=time.time(), turns=0)
    )
    expect(dashboard).to_have_title(re.compile(r"^\(\d+ live\) patterdash$"), timeout=LIVE)
    server.post_events([{"type": "call_status", "call_id": call_id, "data": {"status": "canceled"}}])
    expect(card(dashboard, call_id)).to_have_count(0, timeout=LIVE)
    expect(row(dashboard, call_id)).to_contain_text("canceled", timeout=LIVE)
