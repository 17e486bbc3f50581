"""Regenerate docs/screenshots/*.png from a real server and Debian's Chromium.

    python tests/e2e/screenshots.py [--out docs/screenshots]

Views, on a week of generated history (history_gen.py: 3,200 calls, a latency regression from
a deploy at 14:00 UTC two days ago) plus a call in progress: the dashboard over 7 days in the
light and dark themes, the history charts alone, a call's detail in both themes and the
dashboard at a phone's 390 px; then the first-run empty state and the sign-in page. Also run
(into a temp folder) by test_screenshots.py so the script cannot rot.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import ROOT, Server, launch_browser, live_call_events, run_server
from history_gen import History, generate, load
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

Scheme = Literal["light", "dark"]
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}
THEMES: tuple[tuple[Scheme, str], ...] = (("light", ""), ("dark", "-dark"))  # scheme, file name suffix
LIVE_ID = "call-live-1"
# every file the script writes, in the order it writes them (the test and the README list them)
NAMES = (
    "dashboard.png",
    "dashboard-dark.png",
    "history-charts.png",
    "call-detail.png",
    "call-detail-dark.png",
    "phone.png",
    "phone-dark.png",
    "empty-state.png",
    "sign-in.png",
)


def add_live_call(server: Server) -> None:
    """A call in progress beside the history, so the live rail has something to show."""
    now = time.time()
    server.post_events(live_call_events(LIVE_ID, caller="+14155550177", callee="+18005550100", start=now - 47, turns=3))
    line = {"turnIndex": 3, "role": "user", "text": "Could you also note a birthday cake?"}
    server.post_events([{"type": "transcript_line", "call_id": LIVE_ID, "ts": now - 1, "data": line}])


def detail_call(history: History) -> str:
    """A recent completed call with several turns: its detail shows a full waterfall and transcript."""
    done = [c for c in history.calls if c.status == "completed" and len(c.turn_ms) >= 4 and c.mode == "pipeline"]
    return done[-1].call_id


@contextmanager
def opened(browser: Browser, server: Server, scheme: Scheme, viewport: dict[str, int], path: str) -> Iterator[Page]:
    """A signed-in page in the given colour scheme, at `path`, with its charts and live call drawn."""
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme, is_mobile=viewport["width"] < 600)
    try:
        page = ctx.new_page()
        page.goto(server.login_url())
        expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=10_000)
        page.goto(server.url(path))
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        expect(page.get_by_test_id("history-summary")).to_contain_text("calls")
        expect(page.get_by_test_id("chart-latency").locator("circle.pt").first).to_be_attached()
        expect(page.locator(f'.live-card[data-call-id="{LIVE_ID}"] .line-user').last).to_contain_text("birthday")
        expect(page.locator("table.call-table")).to_have_attribute("aria-busy", "false")
        page.wait_for_function("document.fonts.ready.then(() => true)")
        yield page
    finally:
        ctx.close()


def _save(target: Any, path: Path) -> Path:
    """A viewport (page) or element (locator) screenshot, with animations stopped and no caret."""
    target.screenshot(path=str(path), animations="disabled", caret="hide")
    compress(path)
    return path


def compress(path: Path) -> None:
    """Re-save as a 256-colour PNG: the UI is flat colours, so ~3x smaller with no visible change."""
    with Image.open(path) as shot:
        # an adaptive palette with dithering keeps a panel's soft shadow smooth (without, it shows bands)
        small = shot.convert("RGB").convert(
            "P", palette=Image.Palette.ADAPTIVE, colors=256, dither=Image.Dither.FLOYDSTEINBERG
        )
    small.save(path, optimize=True)


def _open_detail(page: Page, call_id: str) -> None:
    page.locator(f'tr[data-call-id="{call_id}"]').click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".timeline")).to_be_visible()


def _shoot_history(browser: Browser, server: Server, history: History, out: Path) -> list[Path]:
    written = []
    for scheme, suffix in THEMES:
        with opened(browser, server, scheme, DESKTOP, "/?range=7d") as page:
            written.append(_save(page, out / f"dashboard{suffix}.png"))
            if scheme == "light":
                written.append(_save(page.get_by_role("region", name="History"), out / "history-charts.png"))
            _open_detail(page, detail_call(history))
            written.append(_save(page, out / f"call-detail{suffix}.png"))
        with opened(browser, server, scheme, PHONE, "/?range=7d") as page:
            written.append(_save(page, out / f"phone{suffix}.png"))
    return written


def _shoot_first_run(browser: Browser, server: Server, out: Path) -> list[Path]:
    page = browser.new_page(viewport=DESKTOP, color_scheme="light")
    page.goto(server.login_url())
    expect(page.get_by_role("region", name="No calls yet")).to_be_visible()
    expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    written = [_save(page, out / "empty-state.png")]
    page.close()
    # The one sign-in screen (the server's page at /), here after a rejected token.
    page = browser.new_page(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page.goto(server.url("/?token=not-a-token"))
    expect(page.get_by_label("Dashboard token")).to_be_visible()
    written.append(_save(page, out / "sign-in.png"))
    page.close()
    return written


def _shoot_with(browser: Browser, out: Path) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "history"
        work.mkdir()
        history = generate(time.time())
        load(history, work / "events.db")
        with run_server(work, db=work / "events.db") as server:
            add_live_call(server)
            written += _shoot_history(browser, server, history, out)
        with run_server(Path(tmp) / "empty") as empty_server:
            written += _shoot_first_run(browser, empty_server, out)
    return written


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path in shoot(args.out):
        print(f"{path} ({path.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
