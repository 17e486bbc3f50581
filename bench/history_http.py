"""The history request over HTTP: a real ``patterdash serve`` on the bench's log, one keep-alive client."""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.common import percentiles, start_patterdash
from patterdash.core.history import Window

__all__ = ["http_runs"]


def http_runs(path: Path, win: Window, runs: int, expected: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/dashboard/history?from=..&to=..`` ``runs`` times, one after another; p50/p99 and start-up."""
    server = start_patterdash(path, timeout=600)
    try:
        url = urlsplit(server.url)
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        target = f"/api/dashboard/history?from={win.lo}&to={win.hi}"
        samples, body = [], b""
        for _ in range(runs):
            started = time.perf_counter()
            conn.request("GET", target)
            response = conn.getresponse()
            body = response.read()
            samples.append(time.perf_counter() - started)
            assert response.status == 200, body[:200]
        conn.close()
    finally:
        server.stop()
    answer = orjson.loads(body)
    assert answer["totals"] == expected["totals"] and answer["series"] == expected["series"], "HTTP answer differs"
    p = percentiles([s * 1000 for s in samples], (50, 99))
    return {
        "request": f"GET {target}",
        "runs": runs,
        "p50_ms": round(p["p50"], 2),
        "p99_ms": round(p["p99"], 2),
        "body_bytes": len(body),
        "server_ready_s": round(server.ready_s, 1),
    }
