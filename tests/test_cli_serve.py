"""``patterdash serve``'s terminal: the trust model stated at start, quiet success, loud failures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.factories import full_call
from tests.reliability_helpers import running_server, wait_until

TOKEN = "serve-test-token-0123456789"


def _request(url: str, *, body: object = None, token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_the_start_up_line_states_who_may_post(tmp_path: Path) -> None:
    with running_server(tmp_path / "a.db", "--token", TOKEN) as server:
        out = server.stdout_path.read_text()
    assert "token-less POST /api/dashboard/ingest from this machine" in out
    with running_server(tmp_path / "b.db", "--token", TOKEN, "--no-loopback-ingest") as server:
        out = server.stdout_path.read_text()
        status = _request(f"{server.base_url}/api/dashboard/ingest", body={"call_id": "x"})
    assert "tokens required on every route" in out and status == 401


def test_successful_ingest_is_not_logged_but_failures_are(tmp_path: Path) -> None:
    with running_server(tmp_path / "q.db") as server:
        assert _request(f"{server.base_url}/api/events", body=full_call("a")) == 200
        assert _request(f"{server.base_url}/api/nowhere") == 404
        wait_until(lambda: "/api/nowhere" in server.stderr(), timeout=10, what="the 404 line")
        assert "POST /api/events" not in server.stderr()


def test_access_log_logs_every_request(tmp_path: Path) -> None:
    with running_server(tmp_path / "l.db", "--access-log") as server:
        assert _request(f"{server.base_url}/api/events", body=full_call("a")) == 200
        wait_until(lambda: '"POST /api/events" 200' in server.stderr(), timeout=10, what="the access line")
