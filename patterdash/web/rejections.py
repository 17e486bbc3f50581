"""Refused ingest requests are loud: counted for /metrics, kept an hour for the UI, logged rate-limited.

An agent whose posts are refused (a token rotated under the Patter SDK, a bad payload) loses calls
without a trace on its side: the SDK swallows errors. So the dashboard says it instead.
"""

from __future__ import annotations

import logging
from collections import Counter

from aiohttp import web

__all__ = ["REJECTIONS", "WINDOW_SECONDS", "IngestRejections", "reason_of"]

log = logging.getLogger("patterdash.web")
WINDOW_SECONDS = 3600
_BUCKET = 60  # the hour is kept as per-minute counts: bounded memory under a flood
_LOG_EVERY = 60.0  # at most one log line per client and reason per minute
_MAX_LOG_KEYS = 1024
_REASONS = {
    400: "bad payload",
    403: "scope does not allow ingest",
    405: "method not allowed",
    413: "body too large",
    415: "unsupported content type",
    422: "invalid event",
}


def reason_of(status: int, *, had_token: bool) -> str:
    """A refusal's reason: a small fixed set, so it can be a metric label."""
    if status == 401:
        return "invalid token" if had_token else "missing token"
    return _REASONS.get(status, f"http {status}")


class IngestRejections:
    """Counts of refused ingest requests: for ever (metrics) and per minute over the last hour (UI)."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self._minutes: dict[int, Counter[str]] = {}
        self._logged: dict[tuple[str, str], tuple[float, int]] = {}  # (client, reason) -> (last line, held back)

    def note(self, *, client: str, reason: str, status: int, path: str, now: float) -> None:
        """Count one refusal and log it unless this client and reason were logged in the last minute."""
        self.totals[reason] += 1
        minute = int(now // _BUCKET)
        self._minutes.setdefault(minute, Counter())[reason] += 1
        for old in [m for m in self._minutes if m <= minute - WINDOW_SECONDS // _BUCKET]:
            del self._minutes[old]
        key = (client, reason)
        last, held = self._logged.get(key, (float("-inf"), 0))
        if now - last < _LOG_EVERY:
            self._logged[key] = (last, held + 1)
            return
        if len(self._logged) >= _MAX_LOG_KEYS:  # many clients: forget those quiet for a minute
            self._logged = {k: v for k, v in self._logged.items() if now - v[0] < _LOG_EVERY}
        self._logged[key] = (now, 0)
        more = f" (+{held} more in the last minute)" if held else ""
        log.warning("refused ingest from %s: %s (%d on %s)%s", client, reason, status, path, more)

    def recent(self, *, now: float) -> tuple[int, dict[str, int]]:
        """Refusals in the last hour: the total and the count by reason."""
        since = int(now // _BUCKET) - WINDOW_SECONDS // _BUCKET
        by_reason: Counter[str] = Counter()
        for minute, counts in self._minutes.items():
            if minute > since:
                by_reason.update(counts)
        return sum(by_reason.values()), dict(sorted(by_reason.items()))


REJECTIONS = web.AppKey("ingest_rejections", IngestRejections)
