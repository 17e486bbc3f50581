"""Issue 17.3: deadlines for a request's head and body, against a real ``patterdash serve``."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from patterdash.web.connections import connection_limit
from tests.reliability_helpers import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PATTERDASH_HEAD_TIMEOUT": "1", "PATTERDASH_BODY_TIMEOUT": "1"}
    with running_server(tmp_path_factory.mktemp("deadlines") / "patterdash.db", env=env) as one:
        yield one


def _connect(server: ServerProcess) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _trickle_until_closed(sock: socket.socket, data: bytes, *, every: float, within: float) -> tuple[float, bytes]:
    """Send ``data`` a byte at a time; returns (seconds until the server ended it, what it answered)."""
    started = time.monotonic()
    sock.settimeout(every)
    answer = b""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            chunk = sock.recv(65536)  # waits ``every`` unless the server answers or closes
            answer += chunk
            if not chunk:
                break
        except TimeoutError:
            continue
        except OSError:
            break
        assert time.monotonic() - started < within, "the server never ended the slow request"
    return time.monotonic() - started, answer


def test_a_request_head_sent_too_slowly_is_cut_off(server: ServerProcess) -> None:
    with _connect(server) as sock:
        elapsed, answer = _trickle_until_closed(
            sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 500, every=0.2, within=8
        )
    assert answer == b"" and 0.9 < elapsed < 4
    assert server.healthy()
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10) as resp:
        assert re.search(rb"^patterdash_connections_timed_out_total [1-9]", resp.read(), re.M)


def test_a_body_sent_too_slowly_is_a_408_and_nothing_is_appended(server: ServerProcess) -> None:
    before = server.health()["seq"]
    body = json.dumps({"type": "call_start", "call_id": "slow-body", "data": {}}).encode()
    with _connect(server) as sock:
        sock.sendall(
            b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        elapsed, answer = _trickle_until_closed(sock, body, every=0.3, within=8)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"request body too slow"' in answer and b"Content-Security-Policy" in answer
    assert 0.9 < elapsed < 4
    assert server.health()["seq"] == before


def test_a_normal_keep_alive_client_is_not_cut_off(server: ServerProcess) -> None:
    with _connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(1.5)  # idle between requests longer than the head deadline: allowed


def test_the_connection_cap_stays_under_the_open_file_limit() -> None:
    assert connection_limit(1000, 1024) == 824
    assert connection_limit(1000, 1_048_576) == 1000
