"""Regenerate docs/screenshots/*.png from a real server and Debian's Chromium.

    python tests/e2e/screenshots.py [--out docs/screenshots]

Views: the populated dashboard with a live call, the call detail panel, the
first-run empty state and the token prompt. Also run (into a temp folder) by
test_screenshots.py so the script cannot rot.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import ROOT, Server, finished_call_events, launch_browser, live_call_events, run_server
from playwright.sync_api import Browser, Page, expect, sync_playwright

VIEWPORT = {"width": 1440, "height": 900}

HISTORY = [
    # (caller, callee, direction, turns, status, mode, minutes ago)
    ("+14155550132", "+18005550100", "inbound", 4, None, "pipeline", 2),
    ("+18005550100", "+12125550187", "outbound", 2, None, "openai_realtime", 6),
    ("+447700900412", "+18005550100", "inbound", 3, None, "pipeline", 11),
    ("+18005550100", "+13105550166", "outbound", 0, "no-answer", "pipeline", 15),
    ("+16465550199", "+18005550100", "inbound", 4, None, "pipeline", 19),
    ("+18005550100", "+17185550123", "outbound", 1, "failed", "elevenlabs_convai", 26),
    ("+33612345678", "+18005550100", "inbound", 3, None, "pipeline", 31),
    ("+18005550100", "+14085550111", "outbound", 2, "busy", "pipeline", 38),
    ("+19175550142", "+18005550100", "inbound", 4, None, "openai_realtime", 44),
    ("+18005550100", "+15125550190", "outbound", 3, None, "pipeline", 52),
]


def populate(server: Server) -> str:
    """Completed calls plus one call in progress; returns the live call's id."""
    now = time.time()
    for i, (caller, callee, direction, turns, status, mode, ago) in enumerate(HISTORY):
        cost = {
            "stt": 0.0031 * (turns + 1),
            "tts": 0.0094 * (turns + 1),
            "llm": 0.0052 * (turns + 1),
            "telephony": 0.0085 * (turns + 1),
        }
        server.post_events(
            finished_call_events(
                f"call-{i:03d}",
                caller=caller,
                callee=callee,
                start=now - ago * 60,
                turns=turns,
                direction=direction,
                status=status,
                tool=turns > 2,
                cost=cost,
                mode=mode,
            )
        )
    live_id = "call-live-1"
    events = live_call_events(live_id, caller="+14155550177", callee="+18005550100", start=now - 47, turns=3)
    server.post_events(events)
    server.post_events(
        [
            {
                "type": "transcript_line",
                "call_id": live_id,
                "ts": now - 1,
                "data": {"turnIndex": 3, "role": "user", "text": "Could you also note a birthday cake?"},
            }
        ]
    )
    return live_id


def shoot(out: Path, browser: Browser | None = None) -> list[Path]:
    """Write the screenshots into `out`; uses `browser` when given (tests), else launches Chromium."""
    out.mkdir(parents=True, exist_ok=True)
    if browser is not None:
        return _shoot_with(browser, out)
    with sync_playwright() as p:
        own = launch_browser(p)
        try:
            return _shoot_with(own, out)
        finally:
            own.close()


def _shoot_with(browser: Browser, out: Path) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        with run_server(Path(tmp) / "empty") as empty_server:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(empty_server.login_url())
            expect(page.get_by_role("region", name="No calls yet")).to_be_visible()
            expect(page.locator(".conn")).to_have_attribute("data-state", "live")
            written.append(_save(page, out / "empty-state.png"))
            page.close()

            # The one sign-in screen (the server's page at /), here after a rejected token.
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(empty_server.url("/?token=not-a-token"))
            expect(page.get_by_label("Dashboard token")).to_be_visible()
            written.append(_save(page, out / "sign-in.png"))
            page.close()

        with run_server(Path(tmp) / "busy") as server:
            page = browser.new_page(viewport=VIEWPORT)
            live_id = populate(server)
            page.goto(server.login_url())
            expect(page.locator(f'.live-card[data-call-id="{live_id}"] .line-user').last).to_contain_text("birthday")
            expect(page.locator(".call-table tbody tr")).to_have_count(len(HISTORY))
            page.wait_for_function("document.fonts.ready.then(() => true)")
            written.append(_save(page, out / "dashboard.png"))

            page.locator('tr[data-call-id="call-000"]').click()
            expect(page.get_by_role("dialog").locator(".timeline")).to_contain_text("check_availability")
            written.append(_save(page, out / "call-detail.png"))
            page.close()
    return written


def _save(page: Page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path in shoot(args.out):
        print(path)


if __name__ == "__main__":
    main()
