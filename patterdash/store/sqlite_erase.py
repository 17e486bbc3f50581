"""Physical erasure in the SQLite log: rows deleted with ``secure_delete`` (freed bytes zeroed), then
the WAL checkpointed and truncated, so an erased number is in neither the file nor its WAL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

from patterdash.store.base import LogError
from patterdash.store.sqlite_files import immediate

__all__ = ["calls_with_number", "purge_calls"]

_IDENTITY_TYPES = ("call_initiated", "call_start", "call_end")
_CHUNK = 500


def _chunks(ids: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    for i in range(0, len(ids), _CHUNK):
        chunk = list(ids[i : i + _CHUNK])
        yield chunk, ",".join("?" * len(chunk))


def calls_with_number(conn: sqlite3.Connection, number: str) -> list[str]:
    """Ids of the calls whose caller or callee is ``number`` (as stored), scanning the identity events."""
    kinds = ",".join("?" * len(_IDENTITY_TYPES))
    # data is stored as a BLOB of JSON text; SQLite 3.45+ reads a BLOB given to json_extract as its
    # binary JSONB format, so the text is passed as text
    sql = (
        f"SELECT DISTINCT call_id FROM events WHERE type IN ({kinds})"
        " AND (json_extract(CAST(data AS TEXT), '$.caller') = ? OR json_extract(CAST(data AS TEXT), '$.callee') = ?)"
    )
    try:
        return [row[0] for row in conn.execute(sql, (*_IDENTITY_TYPES, number, number))]
    except sqlite3.Error as e:
        raise LogError(f"cannot search the log: {e}") from e


def purge_calls(conn: sqlite3.Connection, call_ids: Sequence[str]) -> dict[str, int]:
    """Delete every event, the summary row and the history fact of these calls for good; returns counts.

    Log-wide events (``calls_deleted``, ``calls_purged``) that merely name a call id are kept.
    """
    events = calls = 0
    try:
        conn.execute("PRAGMA secure_delete = ON")  # this connection's deletes overwrite the freed bytes
        with immediate(conn):
            for chunk, marks in _chunks(call_ids):
                cur = conn.execute(
                    f"DELETE FROM events WHERE call_id IN ({marks}) AND type NOT IN ('calls_deleted', 'calls_purged')",
                    chunk,
                )
                events += cur.rowcount
                calls += conn.execute(f"DELETE FROM calls WHERE call_id IN ({marks})", chunk).rowcount
                # the rollups already subtracted them (calls_purged counts as a delete); the per-call fact goes
                conn.execute(f"DELETE FROM call_facts WHERE call_id IN ({marks})", chunk)
        # Give the freed pages back (a no-op unless auto_vacuum is INCREMENTAL; bounded by the batch).
        # executescript steps the pragma to completion: execute() steps once, which frees ONE page.
        conn.executescript("PRAGMA incremental_vacuum;")
        # the WAL still holds the old pages until a checkpoint copies the zeroed ones back and truncates it
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as e:
        raise LogError(f"purge failed: {e}") from e
    return {"events": events, "calls": calls, "wal_truncated": int(busy == 0)}
