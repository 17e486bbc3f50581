"""The screenshot script keeps working (it writes into a temp folder here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser
from screenshots import shoot

pytestmark = pytest.mark.browser


def test_screenshot_script_renders_every_view(tmp_path: Path, browser: Browser) -> None:
    written = shoot(tmp_path, browser)
    assert sorted(p.name for p in written) == [
        "call-detail.png",
        "dashboard.png",
        "empty-state.png",
        "sign-in.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
