"""Issue 13's recording in the call detail: an audio player, and a transcript line seeks to it."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import HarnessError, Server, open_dashboard, run_server
from playwright.sync_api import Page, expect

from tests.calllogs import T0, write_call, write_json

pytestmark = pytest.mark.browser

CALL = "CA-e2e-recording"
SECONDS = 20


def _silence(path: Path) -> None:
    """A real WAV Chromium can decode: SECONDS of 8 kHz 8-bit mono silence."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 8000 * SECONDS)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose log holds one imported Patter call log with a recording (turns at +5 s, +10 s)."""
    work = Path(tmp_path_factory.mktemp("recording"))
    where = write_call(work / "calls", CALL, started=T0, turns=2)
    _silence(where / "recording.wav")
    meta = json.loads((where / "metadata.json").read_text())
    write_json(where / "metadata.json", {**meta, "recording_path": "recording.wav"})
    db = work / "events.db"
    cmd = [sys.executable, "-m", "patterdash", "import", str(work / "calls"), "--db", str(db)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    try:
        with run_server(work, db=db) as server:
            yield server
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


def test_the_call_detail_plays_the_recording_and_a_line_seeks_to_it(recorded: Server, page: Page) -> None:
    open_dashboard(page, recorded)
    page.goto(recorded.url("/?range=all"))  # the imported call started on 2026-01-01
    page.locator(f'tr[data-call-id="{CALL}"]').click()
    player = page.get_by_test_id("recording-player")
    expect(player).to_be_visible()
    assert player.get_attribute("src") == f"/api/dashboard/calls/{CALL}/recording"
    # The cookie authenticates the media request and the CSP lets it load: the audio decodes.
    page.wait_for_function("el => el.readyState >= 1 && el.duration > 0", arg=player.element_handle(), timeout=10_000)
    assert abs(player.evaluate("el => el.duration") - SECONDS) < 0.5
    # Turn 1's lines are stamped T0 + 10 s; the recording starts at T0.
    line = page.locator(".timeline .line-assistant").nth(1)
    expect(line.locator("button.line-seek")).to_be_visible()
    line.locator(".line-text").click()  # the whole line seeks, not only its time
    at = "el => el.currentTime >= 9.95 && el.currentTime < 12"  # it may play on from 10 s
    page.wait_for_function(at, arg=player.element_handle(), timeout=5_000)
    # The time is a button, so the keyboard can seek too.
    page.locator(".timeline .line-user").first.locator("button.line-seek").press("Enter")
    at = "el => el.currentTime >= 4.95 && el.currentTime < 7"
    page.wait_for_function(at, arg=player.element_handle(), timeout=5_000)
