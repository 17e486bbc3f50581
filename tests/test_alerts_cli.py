"""``patterdash alerts log|test`` and ``serve --alerts``: in-process CLI, a real receiver in a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.alerts_helpers import SECRET, Receiver
from tests.cli_helpers import append_events, invoke, one_line_error
from tests.factories import event, latency

RULES = """
[[rule]]
name = "slow-turns"
metric = "p95(turn_latency_ms)"
op = ">"
threshold = 1000
window = "1h"
notify = ["ops", "chat"]

[[rule]]
name = "quiet"
metric = "calls"
op = "<"
threshold = 1

[target.ops]
url = "{url}"
secret = "{secret}"

[target.chat]
url = "{url}"
format = "slack"
"""


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    """A real receiver on 127.0.0.1, served by its own loop in a thread (the CLI runs its own loop)."""
    hook = Receiver()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(hook.start(), loop).result(10)
    yield hook, url
    asyncio.run_coroutine_threadsafe(hook.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def _rules(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(RULES.format(url=url, secret=SECRET))
    return path


def test_alerts_test_notifies_every_target_of_the_rule_and_logs_it(
    tmp_path: Path, db_path: Path, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    now = time.time()
    turns = [{"turn": {"latency": latency(1800.0)}}] * 3
    append_events(db_path, [event("turn_complete", "c1", data, ts=now) for data in turns])
    result = invoke("alerts", "test", "slow-turns", "--alerts", _rules(tmp_path, url), "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert "ops: delivered after 1 attempt(s)" in result.stdout
    assert "chat: delivered after 1 attempt(s)" in result.stdout
    standard, slack = hook.received
    assert standard.signed_ok
    body = standard.json()
    assert body["data"]["test"] is True and body["data"]["value"] == 1800.0 and body["data"]["samples"] == 3
    assert "[TEST] [FIRING]" in slack.json()["text"]
    log = invoke("alerts", "log", "--db", db_path, "--json")
    rows = [orjson.loads(line) for line in log.stdout.splitlines()]
    assert [(r["target"], r["outcome"], r["test"]) for r in rows] == [
        ("ops", "delivered", True),
        ("chat", "delivered", True),
    ]
    table = invoke("alerts", "log", "--db", db_path)
    assert "slow-turns" in table.stdout and "delivered" in table.stdout
    assert url not in table.stdout + log.stdout


def test_alerts_test_exits_1_when_a_target_fails(tmp_path: Path, db_path: Path, receiver: tuple[Receiver, str]) -> None:
    hook, url = receiver
    hook.answer(400)
    result = invoke("alerts", "test", "slow-turns", "--alerts", _rules(tmp_path, url), "--db", db_path)
    assert result.exit_code == 1
    assert "ops: failed after 1 attempt(s) (HTTP 400)" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope"], "no rule 'nope'"),
        (["quiet"], "rule 'quiet' has no notify targets"),
    ],
)
def test_alerts_test_user_errors_are_one_line(tmp_path: Path, db_path: Path, args: list[str], expected: str) -> None:
    result = invoke("alerts", "test", *args, "--alerts", _rules(tmp_path, "http://127.0.0.1:9/x"), "--db", db_path)
    assert result.exit_code == 1
    assert expected in one_line_error(result)


def test_alerts_test_without_a_file_and_with_a_bad_file(tmp_path: Path, db_path: Path) -> None:
    assert "no alerts file" in one_line_error(invoke("alerts", "test", "x", "--db", db_path))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\nmetric = "calls"\nop = "<"\n')
    line = one_line_error(invoke("alerts", "test", "x", "--alerts", bad, "--db", db_path))
    assert "bad.toml: rule 'x', field 'threshold': Field required" in line


def test_alerts_log_with_no_deliveries(db_path: Path) -> None:
    result = invoke("alerts", "log", "--db", db_path)
    assert (result.exit_code, result.stdout.strip()) == (0, "no deliveries yet")


def test_serve_refuses_a_bad_alerts_file_with_one_line(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\nmetric = "p95(turn_latency_ms)"\nop = ">"\nthreshold = 1\nwindow = "soon"\n')
    result = invoke("serve", "--db", db_path, "--port", "0", "--alerts", bad)
    assert result.exit_code == 1
    assert "bad.toml: rule 'x', field 'window'" in one_line_error(result)
