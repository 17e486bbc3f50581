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


def test_version_prints_the_package_version() -> None:
    from patterdash import __version__
    from tests.cli_helpers import invoke

    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"patterdash {__version__}"


def test_serve_into_a_directory_that_does_not_exist_is_an_error_not_a_mkdir(tmp_path: Path) -> None:
    from tests.reliability_helpers import run_cli

    result = run_cli("serve", "--port", "0", "--db", str(tmp_path / "typo" / "x.db"), cwd=tmp_path)
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "typo").exists()


def test_a_serve_that_fails_to_start_leaves_no_empty_log(tmp_path: Path) -> None:
    import socket

    from tests.reliability_helpers import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli("serve", "--port", port, "--db", str(tmp_path / "new.db"), cwd=tmp_path)
    assert result.returncode == 1 and "cannot listen" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "kept.db").write_bytes(b"")  # an existing file is never removed, whatever happens
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run_cli("serve", "--port", str(taken.getsockname()[1]), "--db", str(tmp_path / "kept.db"), cwd=tmp_path)
    assert (tmp_path / "kept.db").exists()


def test_a_bad_event_in_an_import_is_reported_without_pydantics_prefix(tmp_path: Path) -> None:
    from tests.cli_helpers import invoke

    dump = tmp_path / "bad.json"
    dump.write_text('[{"type": "call_end", "call_id": "y", "ts": 1.0, "data": {"ended_at": "yesterday"}}]')
    result = invoke("import", dump, "--db", tmp_path / "x.db")
    assert "data.ended_at: not a time: 'yesterday'" in result.stderr and "Value error" not in result.stderr
