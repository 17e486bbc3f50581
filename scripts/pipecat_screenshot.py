"""Regenerate docs/screenshots/pipecat-call.png: Pipecat-shaped spans through the real OTLP exporter
into a real ``patterdash serve``, the call detail in Debian's Chromium.

    .venv/bin/python scripts/pipecat_screenshot.py
"""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from e2e_harness import launch_browser, run_server  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.otlp_helpers import Sdk  # noqa: E402

now = time.time() - 120
with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp) / "pc") as server:
    sdk = Sdk(server.url("/v1/traces"), token=server.token)
    lines = [
        ("Hi, I'd like to check my order status.", "Sure! Can you give me the order number?"),
        ("It's four four two seven.", "Order 4427 shipped yesterday and arrives Friday."),
        ("Great, thanks!", "You're welcome. Anything else?"),
    ]
    with sdk.span(
        "conversation", now, now + 48, **{"conversation.id": "pipecat-demo-7f3a", "conversation.type": "voice"}
    ) as conv:
        for i, (user, agent) in enumerate(lines, start=1):
            t = now + 2 + (i - 1) * 15
            with sdk.span(
                "turn",
                t,
                t + 12,
                conv,
                **{
                    "turn.number": i,
                    "conversation.id": "pipecat-demo-7f3a",
                    "turn.user_bot_latency_seconds": 0.72 + 0.11 * i,
                    "turn.was_interrupted": False,
                },
            ) as turn:
                with sdk.span(
                    "stt",
                    t,
                    t + 2.5,
                    turn,
                    **{
                        "gen_ai.provider.name": "deepgram",
                        "gen_ai.request.model": "nova-3",
                        "transcript": user,
                        "metrics.ttfb": 0.16 + 0.02 * i,
                        "metrics.audio_seconds": 2.4,
                    },
                ):
                    pass
                with sdk.span(
                    "llm",
                    t + 2.5,
                    t + 3.6,
                    turn,
                    **{
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "output": agent,
                        "metrics.ttfb": 0.31 + 0.04 * i,
                        "gen_ai.usage.input_tokens": 600 * i,
                        "gen_ai.usage.output_tokens": 14,
                    },
                ):
                    pass
                if i == 2:
                    with sdk.span(
                        "llm_tool_call",
                        t + 2.8,
                        t + 3.0,
                        turn,
                        **{"tool.function_name": "lookup_order", "tool.arguments": '{"order": 4427}'},
                    ):
                        pass
                with sdk.span(
                    "tts",
                    t + 3.0,
                    t + 6.0,
                    turn,
                    **{
                        "gen_ai.provider.name": "cartesia",
                        "gen_ai.request.model": "sonic-2",
                        "text": agent,
                        "metrics.character_count": len(agent),
                        "metrics.ttfb": 0.19,
                    },
                ):
                    pass
    sdk.provider.force_flush()
    sdk.shutdown()
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(server.login_url())
        page.locator('tr[data-call-id="pipecat-demo-7f3a"]').click()
        expect(page.get_by_role("dialog")).to_contain_text("lookup_order")
        page.wait_for_function("document.fonts.ready.then(() => true)")
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "pipecat-call.png"))
        browser.close()
print("ok")
