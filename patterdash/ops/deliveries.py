"""The delivery log: one JSON line per webhook attempt, in a file beside the event log.

Operational history, not state: the event log holds the alerts themselves. Lines are
appended whole and flushed; a torn last line (a crash mid-write) is skipped when read.
No URL or secret is ever written here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from patterdash.ops.webhooks import Attempt
from patterdash.store import sqlite_path

__all__ = ["DeliveryLog", "delivery_log_path"]


def delivery_log_path(db: str | Path) -> Path:
    """``patterdash.db`` -> ``patterdash.db.deliveries.jsonl``; for a PostgreSQL store, one per node
    in the working directory (``patterdash.deliveries.jsonl``)."""
    path = sqlite_path(db)
    if path is None:
        return Path("patterdash.deliveries.jsonl")
    return path.with_name(path.name + ".deliveries.jsonl")


class DeliveryLog:
    """Append and read delivery attempts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(
        self, attempt: Attempt, *, at: float, msg_id: str, rule: str, kind: str, ref: str, test: bool = False
    ) -> None:
        """Write one attempt as one line; ``ref`` names the target's URL without revealing it."""
        row = {
            "at": at,
            "msg_id": msg_id,
            "rule": rule,
            "kind": kind,
            "target": attempt.target,
            "ref": ref,
            "attempt": attempt.attempt,
            "outcome": attempt.outcome,
            "status": attempt.status,
            "detail": attempt.detail,
            "wait": attempt.wait,
            "test": test,
        }
        line = orjson.dumps(row) + b"\n"
        with self._lock, self.path.open("ab") as f:
            f.write(line)
            f.flush()

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every attempt, oldest first (none when the file does not exist)."""
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return
        with f:
            for line in f:
                if not line.endswith(b"\n"):
                    return  # torn by a crash mid-write
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    yield row

    def disabled_refs(self) -> set[str]:
        """Target URLs (by ref) whose latest attempt answered 410 Gone: disabled until the URL changes."""
        last: dict[str, str] = {}
        for row in self.rows():
            if not row.get("test"):
                last[str(row.get("ref"))] = str(row.get("outcome"))
        return {ref for ref, outcome in last.items() if outcome == "disabled"}
