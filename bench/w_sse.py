"""SSE fan-out: delivery latency (POST acknowledgement -> receipt at every subscriber) and the sustainable rate."""

from __future__ import annotations

import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

from bench.common import (
    Server,
    collect,
    cpu_seconds,
    peer_available,
    percentiles,
    run_client,
    spawn_client,
    start_patter,
    start_patterdash,
    tmpdir,
)

__all__ = ["sse"]

PER_PROCESS = 250  # subscribers per client process


class _Subscribers:
    """``n`` SSE subscribers spread over client processes; each process prints READY once connected."""

    def __init__(self, server: Server, n: int) -> None:
        parts = urlsplit(server.url)
        self.procs: list[subprocess.Popen[bytes]] = []
        remaining = n
        while remaining > 0:
            k = min(PER_PROCESS, remaining)
            remaining -= k
            spec = {
                "mode": "subscribe",
                "host": parts.hostname,
                "port": parts.port,
                "path": "/api/dashboard/events",
                "subscribers": k,
            }
            self.procs.append(spawn_client(spec, stdin=True))
        for p in self.procs:
            assert p.stdout is not None
            if b"READY" not in p.stdout.readline():
                raise RuntimeError(f"subscriber process failed: {collect(p)}")

    def finish(self) -> list[dict[str, Any]]:
        return [collect(p, send=b"STOP\n", timeout=120) for p in self.procs]


def _publish(server: Server, rate: float, duration: float, prefix: str) -> dict[str, Any]:
    spec = {
        "mode": "paced",
        "url": server.url,
        "kind": "pairs",
        "split": True,
        "prefix": prefix,
        "rate": rate,
        "duration": duration,
        "record_acks": True,
    }
    return run_client(spec)


def _one(server: Server, subscribers: int, rate: float, duration: float, prefix: str) -> dict[str, Any]:
    subs = _Subscribers(server, subscribers)
    cpu0 = cpu_seconds(server.pid)
    pub = _publish(server, rate, duration, prefix)
    cpu1 = cpu_seconds(server.pid)
    time.sleep(1.5)  # let the tail drain
    results = subs.finish()
    acks = pub["acks"]
    from_ack: list[float] = []
    from_send: list[float] = []
    delivered = 0
    for res in results:
        for tag, times in res["receipts"].items():
            sent_ack = acks.get(tag)
            if sent_ack is None:
                continue
            for t in times:
                delivered += 1
                from_ack.append(max(0.0, t - sent_ack[1]) * 1000)
                from_send.append((t - sent_ack[0]) * 1000)
    expected = len(acks) * subscribers
    dropped = sum(r["dropped"] for r in results)
    ack_p = percentiles(from_ack)
    out = {
        "subscribers": subscribers,
        "target_rate": rate,
        "achieved_rate": pub["achieved_rate"],
        "events": len(acks),
        "expected_deliveries": expected,
        "delivered": delivered,
        "dropped_subscribers": dropped,
        "ack_to_receipt_ms": {k: round(v, 2) for k, v in ack_p.items()},
        "send_to_receipt_ms": {k: round(v, 2) for k, v in percentiles(from_send).items()},
        "post_p99_ms": pub["p99_ms"],
        "errors": pub["errors"],
        "server_cpu_per_event_ms": round((cpu1 - cpu0) / max(1, len(acks)) * 1000, 3),
        "server_cpu_per_delivery_us": round((cpu1 - cpu0) / max(1, expected) * 1e6, 2),
    }
    out["kept_up"] = bool(
        delivered >= expected
        and dropped == 0
        and pub["errors"] == 0
        and pub["achieved_rate"] >= 0.9 * rate
        and ack_p["p99"] <= 1000
    )
    return out


def _prefill(server: Server, name: str) -> None:
    """Steady state, not a fresh process: 500 calls held, and (patterdash) the replay buffer full."""
    base = {"mode": "closed", "url": server.url, "duration": 900, "warmup": 0, "concurrency": 4}
    run_client({**base, "kind": "pairs", "prefix": "fill", "stop_after_units": 500})
    if (
        name == "patterdash"
    ):  # 9,000 more events so the bus's 8,192-frame buffer is full, as after a while in production
        run_client({**base, "kind": "batch", "prefix": "fillb", "batch": 500, "stop_after_units": 18})


def _server(name: str, d: Any) -> Server:
    if name == "patter":
        return start_patter()
    # The default cap (1,000 open connections) would shed one of 1,000 subscribers + the publisher.
    return start_patterdash(d / f"sse-{time.monotonic_ns()}.db", env={"PATTERDASH_MAX_CONNECTIONS": "2000"})


def sse(quick: bool) -> dict[str, Any]:
    """Latency at 2/20/100 events/s with 100 and 1,000 subscribers; then a ramp to the highest rate kept up with."""
    duration = 3.0 if quick else 4.0  # 2 s: the last POSTs' tail alone pulled the sent rate under 90%
    out: dict[str, Any] = {"duration_s": duration, "points": {}, "max_rate": {}}
    # quick: only the point a target needs (1,000 subscribers at 20 events/s); the ramps need full mode
    fixed = {"patterdash": (20,) if quick else (2, 20, 100), "patter": (2, 20)}
    ramp: dict[str, tuple[int, ...]] = {
        "patterdash": () if quick else (50, 100, 200, 400),
        "patter": () if quick else (5, 10, 20, 40),
    }
    with tmpdir() as d:
        for name in ("patterdash", "patter") if peer_available() and not quick else ("patterdash",):
            for subs in (1000,) if quick else (100, 1000):
                with _server(name, d) as server:
                    _prefill(server, name)
                    for rate in fixed[name]:
                        res = _one(server, subs, rate, duration, f"{name}-{subs}-{rate}")
                        out["points"][f"{name}_{subs}subs_{rate}eps"] = res
                    kept = {rate: out["points"][f"{name}_{subs}subs_{rate}eps"]["kept_up"] for rate in fixed[name]}
                    for rate in ramp[name]:
                        if rate in kept:
                            continue
                        if any(not ok and r < rate for r, ok in kept.items()):
                            break
                        res = _one(server, subs, rate, duration, f"{name}-{subs}-ramp{rate}")
                        out["points"][f"{name}_{subs}subs_ramp{rate}eps"] = res
                        kept[rate] = res["kept_up"]
                        if not res["kept_up"]:
                            break
                    best = 0.0
                    for rate in sorted(kept):  # the highest rate below which every rate tried kept up
                        if not kept[rate]:
                            break
                        best = rate
                    out["max_rate"][f"{name}_{subs}subs"] = best
    for subs in () if quick else (100, 1000):
        ours, theirs = out["max_rate"][f"patterdash_{subs}subs"], out["max_rate"].get(f"patter_{subs}subs")
        out.setdefault("max_rate_ratio", {})[f"{subs}subs"] = round(ours / theirs, 2) if theirs else None
    return out
