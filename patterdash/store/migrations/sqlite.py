"""SQLite schema steps (run inside one ``BEGIN IMMEDIATE`` each by ``EventLog``)."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

__all__ = ["SQLITE_MIGRATIONS", "SQLITE_SCHEMA_VERSION"]

SQLITE_SCHEMA_VERSION = 2


def _migrate_v1(db: sqlite_utils.Database) -> None:
    """The first schema: events, the calls summary, tokens (meta is made before any step)."""
    db["events"].create(  # type: ignore[union-attr]
        {"seq": int, "id": str, "type": str, "call_id": str, "ts": float, "data": str},
        pk="seq",
        not_null={"id", "type", "call_id", "ts", "data"},
        if_not_exists=True,
    )
    db["events"].create_index(["id"], unique=True, if_not_exists=True)  # type: ignore[union-attr]
    db["events"].create_index(["call_id", "seq"], if_not_exists=True)  # type: ignore[union-attr]
    db["calls"].create(  # type: ignore[union-attr]
        {
            "call_id": str,
            "first_seq": int,
            "last_seq": int,
            "last_ts": float,
            "completed_seq": int,
            "deleted": int,
        },
        pk="call_id",
        not_null={"first_seq", "last_seq", "last_ts", "deleted"},
        if_not_exists=True,
    )
    db["calls"].create_index(["deleted", "completed_seq"], if_not_exists=True)  # type: ignore[union-attr]
    db["tokens"].create(  # type: ignore[union-attr]
        {
            "id": str,
            "scope": str,
            "hash": str,
            "created_at": float,
            "last_used_at": float,
            "expires_at": float,
            "revoked_at": float,
        },
        pk="id",
        not_null={"scope", "hash", "created_at"},
        if_not_exists=True,
    )
    db["tokens"].create_index(["hash"], unique=True, if_not_exists=True)  # type: ignore[union-attr]


def _migrate_v2(db: sqlite_utils.Database) -> None:
    """History rollups (call_facts, rollups, rollup_hist): derived, so filled from the log here."""
    from patterdash.store.sqlite_rollups import SqliteRollups, create_tables  # late: it imports sqlite.py

    create_tables(db.conn)
    SqliteRollups().rebuild(db.conn)


SQLITE_MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {1: _migrate_v1, 2: _migrate_v2}
