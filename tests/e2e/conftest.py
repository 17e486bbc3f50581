"""Fixtures for the browser tests: a real server, Debian's Chromium, a logged-in page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import HarnessError, PageLog, Server, launch_browser, open_dashboard, require_chromium, run_server

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
except ImportError as exc:  # a missing dependency must fail loudly, never skip
    raise ImportError("the browser tests need the `playwright` Python package (pip install -e '.[test]')") from exc


# Module scope, not session: Playwright's sync API runs an event loop for as long as it is
# open, which would break the asyncio tests that pytest runs after the browser tests.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    try:
        require_chromium()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    b = launch_browser(playwright_instance)
    yield b
    b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module's tests; each test uses its own call ids."""
    try:
        with run_server(tmp_path_factory.mktemp("server")) as s:
            yield s
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server with an empty log, for first-run views."""
    try:
        with run_server(tmp_path / "fresh") as s:
            yield s
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(context: BrowserContext, page_log: PageLog) -> Page:
    p = context.new_page()
    p.on("console", lambda m: page_log.console.append((m.type, m.text)))
    p.on("pageerror", lambda e: page_log.errors.append(str(e)))
    return p


@pytest.fixture
def dashboard(page: Page, server: Server) -> Page:
    return open_dashboard(page, server)
