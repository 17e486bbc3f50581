"""Issue 11's honest views, in a real headless Chromium against a real patterdash server."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import (
    HarnessError,
    Server,
    finished_call_events,
    live_call_events,
    open_dashboard,
    read_token,
    run_server,
)
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.browser


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def row(page: Page, call_id: str) -> Locator:
    return page.locator(f'tr[data-call-id="{call_id}"]')


def unanswered(call_id: str, *, start: float, status: str, sip: int, reason: str) -> list[dict[str, Any]]:
    """A call the carrier ended before pickup: start, then a terminal status with its extras."""
    return [
        {"type": "call_start", "call_id": call_id, "ts": start, "data": {"caller": "+15550101010", "callee": "+1"}},
        {
            "type": "call_status",
            "call_id": call_id,
            "ts": start + 21,
            "data": {"status": status, "sip_code": sip, "reason": reason},
        },
    ]


def patter_unanswered(call_id: str, *, start: float) -> list[dict[str, Any]]:
    """The Patter SDK way: call_end with metrics of zero turns (zero latencies, telephony cost)."""
    zeros = {"stt_ms": 0.0, "llm_ms": 0.0, "tts_ms": 0.0, "total_ms": 0.0}
    metrics = {
        "call_id": call_id,
        "duration_seconds": 17.0,
        "turns": [],
        "cost": {"stt": 0.0, "tts": 0.0, "llm": 0.0, "telephony": 0.0021, "total": 0.0021},
        "latency_avg": zeros,
        "latency_p95": zeros,
        "provider_mode": "pipeline",
        "telephony_provider": "twilio",
    }
    return [
        {"type": "call_start", "call_id": call_id, "ts": start, "data": {"caller": "+15550202020", "callee": "+1"}},
        {
            "type": "call_end",
            "call_id": call_id,
            "ts": start + 17,
            "data": {"status": "no-answer", "metrics": metrics, "transcript": []},
        },
    ]


@pytest.fixture
def small_ring(tmp_path: Path) -> Iterator[Server]:
    """A server whose ring holds two calls: the rest is only in the log."""
    try:
        with run_server(tmp_path / "ring", extra_args=("--ring-size", "2")) as s:
            yield s
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def test_zero_turn_calls_show_what_is_known_and_no_waterfalls(server: Server, dashboard: Page) -> None:
    busy, patter = new_id("busy0"), new_id("noans0")
    now = time.time()
    server.post_events(unanswered(busy, start=now - 90, status="busy", sip=486, reason="user busy"))
    server.post_events(patter_unanswered(patter, start=now - 60))
    panel = dashboard.get_by_role("dialog", name="Call detail")

    row(dashboard, busy).click()
    expect(panel).to_contain_text("•••1010")
    expect(panel.get_by_test_id("fact-reason")).to_have_text("user busy")
    expect(panel.get_by_test_id("fact-sip")).to_have_text("486")
    expect(panel.get_by_test_id("fact-duration")).to_have_text("0:21")
    expect(panel.get_by_test_id("no-turns")).to_contain_text("busy")
    expect(panel.locator("table.waterfall")).to_have_count(0)
    expect(panel.get_by_test_id("p95-note")).to_have_count(0)
    expect(panel).not_to_contain_text("0 turns")

    row(dashboard, patter).click()
    expect(panel).to_contain_text("•••2020")
    expect(panel.get_by_test_id("no-turns")).to_contain_text("no-answer")
    expect(panel.get_by_test_id("fact-duration")).to_have_text("0:17")
    expect(panel.get_by_role("table", name="Cost breakdown")).to_contain_text("$0.0021")
    expect(panel.locator("table.waterfall")).to_have_count(0)
    expect(panel).not_to_contain_text("P95")


def test_one_turn_is_a_turn_not_turns(server: Server, dashboard: Page) -> None:
    call_id = new_id("oneturn")
    server.post_events(live_call_events(call_id, caller="+15550303030", callee="+1", start=time.time(), turns=1))
    live = dashboard.locator(f'.live-card[data-call-id="{call_id}"]')
    expect(live).to_contain_text("1 turn", timeout=2_000)
    expect(live).not_to_contain_text("1 turns")
    server.post_events([{"type": "call_status", "call_id": call_id, "data": {"status": "completed"}}])
    row(dashboard, call_id).click()
    panel = dashboard.get_by_role("dialog", name="Call detail")
    expect(panel.get_by_test_id("p95-note")).to_have_text("only 1 turn — close to the slowest")
    expect(panel).to_contain_text("over 1 turn")
    expect(panel).not_to_contain_text("1 turns")


def test_metrics_row_splits_ended_calls_by_outcome(fresh_server: Server, page: Page) -> None:
    now = time.time()
    server = fresh_server
    server.post_events(finished_call_events("done-1", caller="+15550000001", callee="+1", start=now - 300, turns=1))
    server.post_events(finished_call_events("done-2", caller="+15550000002", callee="+1", start=now - 250, turns=1))
    server.post_events(unanswered("busy-1", start=now - 200, status="busy", sip=486, reason="user busy"))
    server.post_events(unanswered("noans-1", start=now - 150, status="no-answer", sip=408, reason="no pickup"))
    server.post_events(unanswered("fail-1", start=now - 100, status="failed", sip=503, reason="carrier down"))
    server.post_events(live_call_events("live-1", caller="+15550000009", callee="+1", start=now, turns=0))
    open_dashboard(page, server)
    expect(page.get_by_test_id("metric-total-calls")).to_have_text("6")
    note = page.get_by_test_id("outcomes")
    expect(note).to_have_text("2 completed · 1 failed · 2 no answer/busy · 1 live")
    expect(note.locator('[data-outcome="failed"]')).to_have_class(re.compile("outcome-failed"))
    expect(note).not_to_contain_text("5 completed")


def next_frame(page: Page) -> None:
    """Wait until React has rendered what the last response set (one animation frame)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")


def _ingest_without_token(server: Server, token: str | None = None) -> int:
    req = urllib.request.Request(server.url("/api/dashboard/ingest"), data=b'{"call_id": "x"}', method="POST")
    req.add_header("Content-Type", "application/json")
    # Like Patter's notify_dashboard, but with a forwarding header: never treated as loopback.
    req.add_header("X-Forwarded-For", "203.0.113.7")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return int(res.status)
    except urllib.error.HTTPError as e:
        e.close()
        return int(e.code)


def test_admins_see_a_dismissable_banner_of_refused_ingest(fresh_server: Server, browser: Browser) -> None:
    server = fresh_server
    assert [_ingest_without_token(server) for _ in range(3)] == [401, 401, 401]
    reader_token = read_token(server)
    ctx = browser.new_context()
    try:
        page = open_dashboard(ctx.new_page(), server)
        banner = page.get_by_test_id("rejections-banner")
        expect(banner).to_contain_text("3 ingest requests refused in the last hour: missing token")
        page.get_by_role("button", name="Dismiss ingest refusals notice").click()
        expect(banner).to_have_count(0)
        with page.expect_response(lambda r: "/ingest/rejections" in r.url):
            page.reload()
        next_frame(page)
        expect(banner).to_have_count(0)  # dismissed stays dismissed until more are refused
        assert _ingest_without_token(server) == 401
        page.reload()
        expect(banner).to_contain_text("4 ingest requests refused")

        reader = ctx.browser.new_context() if ctx.browser else None
        assert reader is not None
        try:
            other = reader.new_page()
            with other.expect_response(lambda r: r.url.endswith("/api/me")) as me:
                other.goto(f"{server.base}/?token={reader_token}")
            assert me.value.json()["rights"] == ["read"]
            expect(other.locator(".conn")).to_have_attribute("data-state", "live")
            next_frame(other)
            expect(other.get_by_test_id("rejections-banner")).to_have_count(0)
        finally:
            reader.close()
    finally:
        ctx.close()


def test_exports_follow_the_filters_and_cover_the_whole_log(small_ring: Server, page: Page) -> None:
    server = small_ring
    now = time.time()
    old = now - 3 * 86400
    calls = [
        ("x-old-busy-out", old, "busy", "outbound"),
        ("x-busy-out-1", now - 300, "busy", "outbound"),
        ("x-busy-out-2", now - 250, "busy", "outbound"),
        ("x-busy-in", now - 200, "busy", "inbound"),
        ("x-done-out", now - 150, None, "outbound"),
        ("x-done-in", now - 100, None, "inbound"),
    ]
    for i, (call_id, start, status, direction) in enumerate(calls):
        caller = f"+1555777{i:04d}"
        events = finished_call_events(
            call_id, caller=caller, callee="+1", start=start, turns=1, status=status, direction=direction, tool=False
        )
        server.post_events(events)
    open_dashboard(page, server)
    page.goto(server.url("/?range=all"))
    expect(page.locator("tbody tr[data-call-id]")).to_have_count(6)  # the whole log, not the ring of two
    page.get_by_label("Status").select_option("busy")
    page.get_by_label("Direction").select_option("outbound")
    page.get_by_label("Search").fill("+1555777")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page.get_by_role("group", name="Time range").get_by_role("button", name="Custom").click()
    page.get_by_role("group", name="Time range").get_by_label("From").fill(yesterday)
    expect(page.locator(".pager")).to_contain_text("1\u20132 of 2")  # the old one is out of the range
    # the buttons follow the table once the search has been applied (it is debounced)
    expect(page.get_by_role("link", name="CSV")).to_have_attribute("href", re.compile(r"[?&]q=%2B1555777(&|$)"))

    with page.expect_download() as csv_info:
        page.get_by_role("link", name="CSV").click()
    query = parse_qs(urlsplit(csv_info.value.url).query)
    assert query["scope"] == ["all"] and query["status"] == ["busy"] and query["direction"] == ["outbound"]
    assert query["q"] == ["+1555777"] and "from" in query and "to" not in query
    rows = list(csv.DictReader(io.StringIO(csv_info.value.path().read_text())))
    assert sorted(r["call_id"] for r in rows) == ["x-busy-out-1", "x-busy-out-2"]

    with page.expect_download() as json_info:
        page.get_by_role("link", name="JSON").click()
    exported = json.loads(json_info.value.path().read_text())
    records = exported if isinstance(exported, list) else exported.get("calls", [])
    assert sorted(r["call_id"] for r in records) == ["x-busy-out-1", "x-busy-out-2"]


def test_a_rejected_token_leaves_the_address_bar_for_the_one_sign_in_page(server: Server, browser: Browser) -> None:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        response = page.goto(server.url("/?token=definitely-wrong"))
        assert response is not None and response.status == 401
        assert "definitely-wrong" not in page.url and "token=" not in page.url
        expect(page.get_by_text("That token was not accepted.")).to_be_visible()
        expect(page.locator("form")).to_have_count(1)
        page.get_by_label("Dashboard token").fill(server.token)
        page.get_by_role("button", name="Open dashboard").click()
        expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=10_000)
        assert urlsplit(page.url).query == ""
    finally:
        ctx.close()


def test_an_ended_session_goes_to_the_same_sign_in_page(server: Server, browser: Browser) -> None:
    ctx = browser.new_context()
    try:
        page = open_dashboard(ctx.new_page(), server)
        ctx.clear_cookies()  # the session ends (cookie gone): the next API answer is a 401
        server.post_events(
            finished_call_events(new_id("after"), caller="+15550404040", callee="+1", start=time.time(), turns=1)
        )
        token_input = page.get_by_label("Dashboard token")
        expect(token_input).to_be_visible(timeout=5_000)
        assert urlsplit(page.url).path == "/" and urlsplit(page.url).query == ""
        expect(page.locator("form")).to_have_count(1)
        token_input.fill(server.token)
        page.get_by_role("button", name="Open dashboard").click()
        expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=10_000)
        assert "token=" not in page.url
    finally:
        ctx.close()


def test_the_history_summary_counts_in_words_too(fresh_server: Server, page: Page) -> None:
    server = fresh_server
    now = time.time()
    server.post_events(unanswered("h-busy", start=now - 120, status="busy", sip=486, reason="user busy"))
    open_dashboard(page, server)
    summary = page.get_by_test_id("history-summary")
    expect(summary).to_contain_text(re.compile(r"^1 call · .* · no turns\s*$"))
    server.post_events(finished_call_events("h-one", caller="+15550505050", callee="+1", start=now - 60, turns=1))
    page.reload()
    expect(summary).to_contain_text(re.compile(r"^2 calls · .* · P95 \d+ ms over 1 turn\s*$"))
