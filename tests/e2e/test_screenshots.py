"""The screenshot script keeps working (it writes into a temp folder here), and the README shows its views."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_harness import ROOT
from PIL import Image
from playwright.sync_api import Browser
from screenshots import NAMES, shoot

pytestmark = pytest.mark.browser

MAX_BYTES = 150_000  # per picture, after the 256-colour pass (a raw 1440 x 1000 capture is ~230 kB)


def readme_images() -> set[str]:
    return set(re.findall(r"\]\((docs/screenshots/[^)\s]+\.png)\)", (ROOT / "README.md").read_text()))


def test_screenshot_script_renders_every_view_small(tmp_path: Path, browser: Browser) -> None:
    written = shoot(tmp_path, browser)
    assert sorted(p.name for p in written) == sorted(NAMES)
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"
        with Image.open(path) as shot:
            assert shot.mode == "P"  # the palette pass ran
    with Image.open(tmp_path / "phone.png") as phone:
        assert phone.width == 390


def test_the_readme_shows_every_screenshot_and_links_no_missing_one() -> None:
    linked = readme_images()
    assert {f"docs/screenshots/{name}" for name in NAMES} <= linked
    missing = [path for path in linked if not (ROOT / path).is_file()]
    assert not missing, f"README links missing pictures: {missing}"
