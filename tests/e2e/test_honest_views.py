"""Issue 11's honest views, in a real headless Chromium against a real patterdash server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_harness import (
    HarnessError,
    Server,
    finished_call_events,
    live_call_events,
    open_dashboard,
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
    expect(panel).to_contain_text("+15550101010")
    expect(panel.get_by_test_id("fact-reason")).to_have_text("user busy")
    expect(panel.get_by_test_id("fact-sip")).to_have_text("486")
    expect(panel.get_by_test_id("fact-duration")).to_have_text("0:21")
    expect(panel.get_by_test_id("no-turns")).to_contain_text("busy")
    expect(panel.locator("table.waterfall")).to_have_count(0)
    expect(panel.get_by_test_id("p95-note")).to_have_count(0)
    expect(panel).not_to_contain_text("0 turns")

    row(dashboard, patter).click()
    expect(panel).to_contain_text("+15550202020")
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
