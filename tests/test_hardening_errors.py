"""Issue 17.5: requests aiohttp cannot parse get the JSON error shape with the security headers,
and never an echo of the request line (which can hold ``?token=``). Raw sockets against a real
``patterdash serve`` process."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.reliability_helpers import ServerProcess, running_server

SECRET = "s3cret-token-value-0123456789"
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("errors") / "patterdash.db", "--token", "t" * 32) as one:
        yield one


def _exchange(server: ServerProcess, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes; (status, headers, body)."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


CASES = {
    "unknown method": b"FROB /api/dashboard/calls?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "invalid method": b"G@T /api/dashboard/calls?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "bad version": b"GET /api/dashboard/calls?token=%s HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    "header over 8190 bytes": b"GET /x?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "request line over 8190 bytes": b"GET /x?token=%s&pad=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "TLS on the HTTP port": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03?token=%s\r\n\r\n",
    "bad header line": b"GET /x?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_low_level_errors_are_json_with_security_headers_and_no_echo(server: ServerProcess, case: str) -> None:
    status, headers, body = _exchange(server, CASES[case] % SECRET.encode())
    assert status in (400, 431), (status, body)
    assert headers["content-type"].startswith("application/json"), headers
    payload = json.loads(body)
    assert set(payload) == {"error", "detail"} and payload["error"]
    for name in SECURITY_HEADERS:
        assert name in headers, (name, headers)
    assert SECRET.encode() not in body and b"token" not in body and b"/api/dashboard" not in body
    assert server.healthy()


def test_the_log_does_not_quote_the_malformed_request(server: ServerProcess) -> None:
    for raw in CASES.values():
        _exchange(server, raw % SECRET.encode())
    assert server.healthy()
    assert SECRET not in server.stderr()
