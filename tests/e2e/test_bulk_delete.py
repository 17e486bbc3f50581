"""Issue 14: an admin session ticks rows (mouse or `x`) and deletes them together."""

from __future__ import annotations

import time
import uuid

import pytest
from e2e_harness import Server, finished_call_events
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_admin_bulk_selects_and_deletes(server: Server, dashboard: Page) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [f"bulk-{tag}-{i}" for i in range(3)]
    now = time.time()
    for i, cid in enumerate(ids):
        server.post_events(finished_call_events(cid, caller="+15550600001", callee="+1", start=now - 60 + i))
    rows = dashboard.locator(f'tr[data-call-id^="bulk-{tag}"]')
    expect(rows).to_have_count(3, timeout=5_000)

    dashboard.get_by_role("checkbox", name=f"Select call {ids[0]}").check()
    dashboard.locator(f'tr[data-call-id="{ids[1]}"]').focus()
    dashboard.keyboard.press("x")  # the keyboard way to tick the focused row
    bar = dashboard.get_by_role("region", name="Selected calls")
    expect(bar).to_contain_text("2 calls selected")
    expect(dashboard.get_by_role("dialog")).to_have_count(0)  # ticking does not open the detail

    bar.get_by_role("button", name="Delete selected").click()
    bar.get_by_role("button", name="Confirm delete 2").click()
    expect(rows).to_have_count(1, timeout=5_000)
    expect(rows).to_have_attribute("data-call-id", ids[2])
    expect(bar).to_have_count(0)
    for cid in ids[:2]:
        status, _ = server.request("GET", f"/api/dashboard/calls/{cid}")
        assert status == 404
    assert server.request("GET", f"/api/dashboard/calls/{ids[2]}")[0] == 200
