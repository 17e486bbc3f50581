"""Helpers shared by the browser tests and the screenshot script.

Starts the real ``patterdash serve`` as a subprocess on a free loopback port
with a temporary SQLite file and an admin token, posts events over HTTP, and
launches Debian's Chromium through Playwright (never a downloaded browser).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("PATTERDASH_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class HarnessError(RuntimeError):
    """The test environment is not usable (no Chromium, server did not start)."""


def require_chromium() -> str:
    """Path of the system Chromium, or a clear error saying how to install it."""
    if not Path(CHROMIUM).is_file():
        raise HarnessError(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get update && apt-get install -y chromium` (never `playwright install`)."
        )
    return CHROMIUM


def launch_browser(playwright: Any) -> Any:
    """Headless Debian Chromium with the flags CI needs."""
    return playwright.chromium.launch(executable_path=require_chromium(), headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``patterdash serve`` subprocess."""

    base: str
    token: str
    db: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str = "/") -> str:
        return self.base + path

    def login_url(self) -> str:
        return f"{self.base}/?token={self.token}"

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> tuple[int, Any]:
        """One JSON request with the admin token; returns (status, parsed body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                raw = res.read()
                status = res.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
            e.close()
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    def post_events(self, events: list[dict[str, Any]]) -> list[int]:
        status, body = self.request("POST", "/api/events", events)
        if status != 200:
            raise AssertionError(f"POST /api/events answered {status}: {body}")
        return list(body.get("seqs", [])) if isinstance(body, dict) else []

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as res:
            return res.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERDASH_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def run_server(
    workdir: Path,
    *,
    token: str = "e2e-admin-token",
    db: Path | None = None,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Start ``python -m patterdash serve`` (plus ``extra_args``) and stop it on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = db or workdir / "events.db"
    port = port or free_port()
    log = workdir / f"server-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "patterdash",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--token",
        token,
        *extra_args,
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=_server_env())
    server = Server(base=f"http://127.0.0.1:{port}", token=token, db=db, port=port, process=proc, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(server.base):
            if proc.poll() is not None:
                raise HarnessError(f"patterdash serve exited with {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise HarnessError(f"patterdash serve not healthy after {START_TIMEOUT_S}s:\n{server.log_tail()}")
            time.sleep(0.05)  # waiting for a subprocess to bind: there is no event to wait on
        yield server
    finally:
        stop_server(server)


def stop_server(server: Server) -> None:
    proc = server.process
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class PageLog:
    """What the page printed: console messages and uncaught errors."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [f"console.{kind}: {text}" for kind, text in self.console if kind in ("error", "warning")] + [
            f"pageerror: {e}" for e in self.errors
        ]


def open_dashboard(page: Any, server: Server) -> Any:
    """Log in through /?token= (sets the session cookie) and wait for the live stream."""
    from playwright.sync_api import expect

    page.goto(server.login_url())
    expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=10_000)
    return page


def read_token(server: Server) -> str:
    """A read-scope token made by the CLI against the running server's log."""
    out = subprocess.run(
        [sys.executable, "-m", "patterdash", "token", "rotate", "--scope", "read", "--db", str(server.db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = out.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 10
    while server.request("GET", "/api/dashboard/aggregates", token=token)[0] != 200:
        assert time.monotonic() < deadline, "the server did not pick up the new read token"
        time.sleep(0.1)  # the server notices token changes by itself within 2 s
    return token


# ---------------------------------------------------------------- sample calls


def latency(stt: float, ttft: float, tts: float, *, extra: float = 40.0) -> dict[str, Any]:
    total = stt + ttft + tts + extra
    return {
        "stt_ms": stt,
        "llm_ms": ttft + 180.0,
        "tts_ms": tts,
        "total_ms": total,
        "user_speech_duration_ms": 1400.0,
        "llm_ttft_ms": ttft,
        "llm_total_ms": ttft + 420.0,
        "endpoint_ms": 210.0,
        "bargein_ms": None,
        "tts_total_ms": tts + 900.0,
        "agent_response_ms": total,
    }


TURN_COST = {"stt": 0.0011, "tts": 0.0032, "llm": 0.0019, "telephony": 0.0014, "total": 0.0076}


def turn(index: int, user: str, agent: str, lat: dict[str, Any], ts: float) -> dict[str, Any]:
    return {
        "turn_index": index,
        "user_text": user,
        "agent_text": agent,
        "latency": lat,
        "stt_audio_seconds": 2.1,
        "tts_characters": len(agent),
        "timestamp": ts,
        "cost": dict(TURN_COST),  # per-turn extra: the server sums these into running_cost
    }


def call_metrics(
    call_id: str,
    turns: list[dict[str, Any]],
    duration: float,
    *,
    cost: dict[str, float] | None = None,
    mode: str = "pipeline",
    error_code: str | None = None,
) -> dict[str, Any]:
    cost = cost or {"stt": 0.0042, "tts": 0.0118, "llm": 0.0071, "telephony": 0.0085}
    total = round(sum(cost.values()), 6)
    lats = [t["latency"] for t in turns]

    def agg(pick: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("stt_ms", "llm_ms", "tts_ms", "total_ms", "llm_ttft_ms", "agent_response_ms"):
            vals = sorted(float(x[key]) for x in lats) if lats else [0.0]
            out[key] = sum(vals) / len(vals) if pick == "avg" else vals[min(len(vals) - 1, int(0.95 * len(vals)))]
        return out

    return {
        "call_id": call_id,
        "duration_seconds": duration,
        "turns": turns,
        "cost": {**cost, "total": total, "llm_cached_savings": 0.0012},
        "latency_avg": agg("avg"),
        "latency_p50": agg("avg"),
        "latency_p90": agg("p95"),
        "latency_p95": agg("p95"),
        "latency_p99": agg("p95"),
        "provider_mode": mode,
        "stt_provider": "deepgram",
        "tts_provider": "elevenlabs",
        "llm_provider": "openai",
        "telephony_provider": "twilio",
        "stt_model": "nova-3",
        "tts_model": "eleven_flash_v2_5",
        "llm_model": "gpt-4o-mini",
        "error_code": error_code or "",
        "preemptive_hits": 1,
        "preemptive_misses": 0,
        "context_tokens": 812,
    }


DIALOGUE = [
    ("Hi, I'd like to book a table for two tonight.", "Of course! What time works best for you?"),
    ("Around eight, if you have anything.", "I have 8:15 by the window. Shall I reserve it?"),
    ("Yes please, under Rossi.", "Done — a table for two at 8:15 under Rossi. Anything else?"),
    ("No, that's all. Thanks!", "You're welcome, enjoy your evening!"),
]


def live_call_events(
    call_id: str, *, caller: str, callee: str, start: float, turns: int = 2, direction: str = "inbound"
) -> list[dict[str, Any]]:
    """call_start plus `turns` streamed turns (lines, then turn_complete) of an ongoing call."""
    events: list[dict[str, Any]] = [
        {
            "type": "call_start",
            "call_id": call_id,
            "ts": start,
            "data": {"caller": caller, "callee": callee, "direction": direction},
        },
    ]
    for i in range(turns):
        user, agent = DIALOGUE[i % len(DIALOGUE)]
        t = start + 3 + i * 6
        events += [
            {
                "type": "transcript_line",
                "call_id": call_id,
                "ts": t,
                "data": {"turnIndex": i, "role": "user", "text": user},
            },
            {
                "type": "transcript_line",
                "call_id": call_id,
                "ts": t + 1,
                "data": {"turnIndex": i, "role": "assistant", "text": agent},
            },
            {
                "type": "turn_complete",
                "call_id": call_id,
                "ts": t + 1.2,
                "data": {"turn": turn(i, user, agent, latency(180 + 20 * i, 310 + 35 * i, 140 + 10 * i), t + 1.2)},
            },
        ]
    return events


def finished_call_events(
    call_id: str,
    *,
    caller: str,
    callee: str,
    start: float,
    turns: int = 3,
    direction: str = "inbound",
    status: str | None = None,
    tool: bool = True,
    cost: dict[str, float] | None = None,
    mode: str = "pipeline",
) -> list[dict[str, Any]]:
    """A whole call: start, streamed turns, a tool call, and call_end with metrics."""
    events = live_call_events(call_id, caller=caller, callee=callee, start=start, turns=turns, direction=direction)
    if tool:
        events.append(
            {
                "type": "call_event",
                "call_id": call_id,
                "ts": start + 4.5,
                "data": {"kind": "tool_call", "name": "check_availability", "detail": {"party": 2, "time": "20:00"}},
            }
        )
    turn_list = [e["data"]["turn"] for e in events if e["type"] == "turn_complete"]
    duration = 6.0 * turns + 5.0
    transcript = [
        {
            "role": e["data"]["role"],
            "text": e["data"]["text"],
            "turnIndex": e["data"]["turnIndex"],
            "timestamp": e["ts"],
        }
        for e in events
        if e["type"] == "transcript_line"
    ]
    end: dict[str, Any] = {
        "metrics": call_metrics(call_id, turn_list, duration, cost=cost, mode=mode),
        "transcript": transcript,
    }
    if status:
        end["status"] = status
    events.append({"type": "call_end", "call_id": call_id, "ts": start + duration, "data": end})
    return events
