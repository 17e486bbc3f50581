"""The call-list filters, one definition for the calls API, the HTTP export and ``patterdash export``.

So a download matches what the table shows: same status, direction, search and date window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["DIRECTIONS", "CallFilter", "parse_when"]

DIRECTIONS = ("inbound", "outbound")


def parse_when(value: str) -> float:
    """ISO date or time -> epoch seconds; a date alone (or a naive time) is UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(f"not an ISO date or time: {value!r}") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class CallFilter:
    """Which calls a list or an export keeps; every field None keeps every call."""

    status: str | None = None
    direction: str | None = None
    q: str | None = None  # substring over caller, callee, call id and transcript text, case-insensitive
    from_ts: float | None = None  # by started_at, inclusive
    to_ts: float | None = None

    @property
    def empty(self) -> bool:
        """Whether this filter keeps everything (lists skip the scan)."""
        return all(v is None for v in (self.status, self.direction, self.q, self.from_ts, self.to_ts))

    def keeps(self, record: dict[str, Any]) -> bool:
        """Whether a call record passes every set filter."""
        if self.status and record.get("status") != self.status:
            return False
        if self.direction and record.get("direction") != self.direction:
            return False
        started = record.get("started_at") or 0
        if self.from_ts is not None and started < self.from_ts:
            return False
        if self.to_ts is not None and started > self.to_ts:
            return False
        return not self.q or self._mentions(record, self.q.lower())

    @staticmethod
    def _mentions(record: dict[str, Any], needle: str) -> bool:
        haystack = [str(record.get(key) or "") for key in ("caller", "callee", "call_id")]
        haystack += [str(line.get("text", "")) for line in record.get("transcript") or [] if isinstance(line, dict)]
        return any(needle in text.lower() for text in haystack)
