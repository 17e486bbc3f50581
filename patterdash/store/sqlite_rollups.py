"""The SQLite side of the rollups: facts and rollup rows kept in the append's transaction.

Tables (schema v2): ``call_facts`` (one row per completed call: its bucket keys, sums and
histogram, ``deleted``), ``rollups`` (sums per grain, bucket, status, direction) and
``rollup_hist`` (turn-latency histogram counts per the same key and bin). All derived from the
log: ``rebuild`` recomputes them, ``apply`` keeps them current inside ``EventLog.append``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from patterdash.core.events import LoggedEvent
from patterdash.core.rollups import (
    FACT_COLUMNS,
    SUM_FIELDS,
    CallFact,
    Deltas,
    Span,
    candidates,
    commit_changes,
    fact_from_row,
    fact_row,
    fold_facts,
    plan_writes,
)

__all__ = ["HistoryQuery", "SqliteRollups", "create_tables"]

Insert = Callable[[sqlite3.Connection, str, Sequence[tuple[Any, ...]], str], None]
SelectEvents = Callable[[sqlite3.Connection, str, Sequence[Any]], list[LoggedEvent]]
_CHUNK = 500
_KEY = ("grain", "bucket", "status", "direction")
_FACT_COLS = FACT_COLUMNS
_SUMS_SQL = ", ".join(SUM_FIELDS)
_SUMMED = ", ".join(f"sum({f}) AS {f}" for f in SUM_FIELDS)
_SETTLED_TYPES = "'call_initiated', 'call_start', 'call_status', 'call_end'"
_FACT_TYPES = f"{_SETTLED_TYPES}, 'turn_complete'"


def create_tables(conn: sqlite3.Connection) -> None:
    """Schema v2's tables (run inside the migration's transaction)."""
    sums = ", ".join(f"{f} INTEGER NOT NULL" for f in SUM_FIELDS)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS call_facts (call_id TEXT PRIMARY KEY, started_at REAL NOT NULL,"
        " status TEXT NOT NULL, direction TEXT NOT NULL, agent TEXT NOT NULL, providers TEXT NOT NULL,"
        f" deleted INTEGER NOT NULL, {sums}, hist TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS call_facts_started ON call_facts (deleted, started_at, call_id)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rollups (grain INTEGER NOT NULL, bucket INTEGER NOT NULL,"
        f" status TEXT NOT NULL, direction TEXT NOT NULL, {sums},"
        " PRIMARY KEY (grain, bucket, status, direction)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rollup_hist (grain INTEGER NOT NULL, bucket INTEGER NOT NULL,"
        " status TEXT NOT NULL, direction TEXT NOT NULL, bin INTEGER NOT NULL, turns INTEGER NOT NULL,"
        " PRIMARY KEY (grain, bucket, status, direction, bin)) WITHOUT ROWID"
    )


def _insert_each(conn: sqlite3.Connection, head: str, rows: Sequence[tuple[Any, ...]], tail: str) -> None:
    """One statement per row: the migration's rebuild (the append passes its multi-row insert)."""
    for row in rows:
        conn.execute(f"{head} ({_marks(len(row))}){tail}", row)


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _bucket_of(grain: int, every: int) -> str:
    """SQL for the series bucket of a row of ``grain``: the row's own bucket when the grain is the bucket."""
    return "bucket" if grain == every else f"(bucket / {int(every)}) * {int(every)}"


class SqliteRollups:
    """Keeps the rollup tables of one EventLog; every method runs under the log's lock."""

    def __init__(self, insert: Insert | None = None, select_events: SelectEvents | None = None) -> None:
        self._insert = insert or _insert_each
        if select_events is None:  # the migration's case; imported late: sqlite.py imports this module
            from patterdash.store.sqlite import _select_events

            select_events = _select_events
        self._select: SelectEvents = select_events

    def _facts(self, conn: sqlite3.Connection, call_ids: Sequence[str]) -> dict[str, tuple[CallFact, bool]]:
        out: dict[str, tuple[CallFact, bool]] = {}
        for start in range(0, len(call_ids), _CHUNK):
            chunk = list(call_ids[start : start + _CHUNK])
            sql = (
                f"SELECT json_group_array(json_array({', '.join(_FACT_COLS)}))"
                f" FROM call_facts WHERE call_id IN ({_marks(len(chunk))})"
            )
            for row in orjson.loads(conn.execute(sql, chunk).fetchone()[0]):  # one row: one step
                out[row[0]] = fact_from_row(row)
        return out

    def _fold(
        self, conn: sqlite3.Connection, call_ids: Sequence[str], commit: Sequence[LoggedEvent] = ()
    ) -> dict[str, CallFact]:
        """Each call's fact (``fold_facts``), its stored events read from this connection."""
        return fold_facts(
            call_ids,
            commit,
            lambda ids, settled, before: self._stored(conn, ids, _SETTLED_TYPES if settled else _FACT_TYPES, before),
        )

    def _stored(
        self, conn: sqlite3.Connection, call_ids: Sequence[str], types: str, before: int
    ) -> dict[str, list[LoggedEvent]]:
        """The stored events of these types (and each call's first event) below seq ``before``."""
        by_call: dict[str, list[LoggedEvent]] = {c: [] for c in call_ids}
        for start in range(0, len(call_ids), _CHUNK):
            chunk = list(call_ids[start : start + _CHUNK])
            marks = _marks(len(chunk))
            # transcript lines and call events change no fact: skip them (most of a call's events),
            # but keep the call's first event, whatever it is, as it opens the record (started_at)
            where = (
                f"call_id IN ({marks}) AND (type IN ({types})"
                f" OR seq IN (SELECT first_seq FROM calls WHERE call_id IN ({marks}))) AND seq < ?"
            )
            for ev in self._select(conn, where, [*chunk, *chunk, before]):
                by_call[ev.call_id].append(ev)
        return by_call

    def apply(self, conn: sqlite3.Connection, events: list[LoggedEvent]) -> None:
        """Fold a commit's new events (already inserted) into facts and rollups."""
        ids = candidates(events)
        if not ids:
            return  # transcript lines, turns, starts: nothing to count until a call completes
        known = self._facts(conn, ids)
        changes = commit_changes(events, {cid: deleted for cid, (_, deleted) in known.items()})
        if not changes:
            return
        fresh = self._fold(conn, [cid for cid, c in changes.items() if c.recompute], events)
        facts, deltas = plan_writes(changes, known, fresh)
        self._write(conn, [fact_row(f, deleted=d) for f, d in facts], deltas)

    def _write(self, conn: sqlite3.Connection, facts: list[tuple[Any, ...]], deltas: Deltas) -> None:
        if facts:
            self._insert(conn, f"INSERT OR REPLACE INTO call_facts ({', '.join(_FACT_COLS)}) VALUES", facts, "")
        if deltas.rows:
            adds = ", ".join(f"{f} = {f} + excluded.{f}" for f in SUM_FIELDS)
            rows = [(*k, *v) for k, v in deltas.rows.items()]
            tail = f" ON CONFLICT (grain, bucket, status, direction) DO UPDATE SET {adds}"
            self._insert(conn, f"INSERT INTO rollups ({', '.join(_KEY)}, {_SUMS_SQL}) VALUES", rows, tail)
        if deltas.hist:
            hist = [(*k, v) for k, v in deltas.hist.items()]
            tail = " ON CONFLICT (grain, bucket, status, direction, bin) DO UPDATE SET turns = turns + excluded.turns"
            self._insert(conn, f"INSERT INTO rollup_hist ({', '.join(_KEY)}, bin, turns) VALUES", hist, tail)

    def rebuild(self, conn: sqlite3.Connection, *, on_call: Callable[[], None] | None = None) -> int:
        """Recompute every fact and rollup row from the log (inside the caller's transaction)."""
        for table in ("call_facts", "rollups", "rollup_hist"):
            conn.execute(f"DELETE FROM {table}")
        after, count, deltas = -1, 0, Deltas()
        while True:
            batch = conn.execute(
                "SELECT json_group_array(json_array(call_id, completed_seq, deleted)) FROM (SELECT * FROM calls"
                " WHERE completed_seq IS NOT NULL AND completed_seq > ? ORDER BY completed_seq LIMIT 500)",
                (after,),
            ).fetchone()[0]
            rows = orjson.loads(batch)
            if not rows:
                break
            after = max(r[1] for r in rows)
            deleted = {r[0]: bool(r[2]) for r in rows}
            facts = self._fold(conn, list(deleted))
            for call_id, fact in facts.items():
                if not deleted[call_id]:
                    deltas.add(fact, +1)
                if on_call is not None:
                    on_call()
            self._write(conn, [fact_row(f, deleted=deleted[c]) for c, f in facts.items()], Deltas())
            count += len(facts)
        self._write(conn, [], deltas.nonzero())
        return count


class HistoryQuery:
    """Reads of the rollup tables (run under the log's lock by the EventLog)."""

    @staticmethod
    def _filters(statuses: Sequence[str] | None, direction: str | None) -> tuple[str, list[Any]]:
        where, params = "", []
        if statuses is not None:
            where += f" AND status IN ({_marks(len(statuses))})" if statuses else " AND 0"
            params += list(statuses)
        if direction is not None:
            where += " AND direction = ?"
            params.append(direction)
        return where, params

    @classmethod
    def rows(
        cls,
        conn: sqlite3.Connection,
        spans: Sequence[Span],
        *,
        every: int,
        statuses: Sequence[str] | None,
        direction: str | None,
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """Sums per (bucket of ``every`` s, status) and histogram counts per (bucket, bin), summed here
        in SQL: a 30-day answer moves a few thousand rows into Python, not every stored row.

        One SELECT per span, joined by UNION ALL: each reads its primary-key range (an OR of the
        spans made SQLite collect every matching key first and look each row up again), and a span
        whose grain is the bucket groups by its own ``bucket``, in key order, with no sort. A
        (bucket, status) or (bucket, bin) that two spans share comes back twice: the caller sums."""
        if not spans:
            return [], []
        more, extra = cls._filters(statuses, direction)
        params: list[Any] = [v for span in spans for v in (*span, *extra)]
        sums = ", ".join(SUM_FIELDS)
        rows = conn.execute(
            f"SELECT json_group_array(json_array(t, status, {sums})) FROM ("
            + " UNION ALL ".join(
                f"SELECT {_bucket_of(grain, every)} AS t, status, {_SUMMED} FROM rollups"
                f" WHERE grain = ? AND bucket >= ? AND bucket < ?{more} GROUP BY t, status HAVING sum(calls) != 0"
                for grain, _, _ in spans
            )
            + ")",
            params,
        ).fetchone()[0]
        hist = conn.execute(
            "SELECT json_group_array(json_array(t, bin, n)) FROM ("
            + " UNION ALL ".join(
                f"SELECT {_bucket_of(grain, every)} AS t, bin, sum(turns) AS n FROM rollup_hist"
                f" WHERE grain = ? AND bucket >= ? AND bucket < ?{more} GROUP BY t, bin HAVING n != 0"
                for grain, _, _ in spans
            )
            + ")",
            params,
        ).fetchone()[0]
        return orjson.loads(rows), orjson.loads(hist)

    @dataclass(frozen=True)
    class Where:
        """The facts filters (None: any)."""

        statuses: Sequence[str] | None
        direction: str | None
        agent: str | None
        provider: str | None

    @classmethod
    def _facts_where(cls, lo: float, hi: float, w: Where) -> tuple[str, list[Any]]:
        where, params = cls._filters(w.statuses, w.direction)
        if w.agent is not None:
            where += " AND agent = ?"
            params.append(w.agent)
        if w.provider is not None:
            where += " AND instr(providers, ?) > 0"
            params.append(f"|{w.provider}|")
        return f"deleted = 0 AND started_at >= ? AND started_at <= ?{where}", [lo, hi, *params]

    @classmethod
    def facts(
        cls,
        conn: sqlite3.Connection,
        lo: float,
        hi: float,
        w: Where,
        limit: int,
        offset: int,
        before: tuple[float, str] | None,
    ) -> list[CallFact]:
        """Not deleted facts with lo <= started_at <= hi, newest first, after the keyset ``before``."""
        # the keyset's start is also the index range's upper end: without it SQLite walks down from
        # ``hi`` past every row of the earlier pages, so paging a range was quadratic in its calls
        where, params = cls._facts_where(lo, hi if before is None else min(hi, before[0]), w)
        if before is not None:
            where += " AND (started_at < ? OR (started_at = ? AND call_id < ?))"
            params += [before[0], before[0], before[1]]
        packed = conn.execute(
            f"SELECT json_group_array(json_array({', '.join(_FACT_COLS)})) FROM (SELECT * FROM call_facts"
            f" WHERE {where} ORDER BY started_at DESC, call_id DESC LIMIT ? OFFSET ?)",
            (*params, limit, offset),
        ).fetchone()[0]
        out = [fact_from_row(row)[0] for row in orjson.loads(packed)]
        out.sort(key=lambda f: (f.started_at, f.call_id), reverse=True)
        return out

    @classmethod
    def count(cls, conn: sqlite3.Connection, lo: float, hi: float, w: Where) -> int:
        """How many not deleted facts of the range match."""
        where, params = cls._facts_where(lo, hi, w)
        return int(conn.execute(f"SELECT count(*) FROM call_facts WHERE {where}", params).fetchone()[0])

    @staticmethod
    def span(conn: sqlite3.Connection) -> tuple[float, float] | None:
        """The first and last start among counted calls (None when there is none)."""
        lo, hi = conn.execute("SELECT min(started_at), max(started_at) FROM call_facts WHERE deleted = 0").fetchone()
        return None if lo is None else (float(lo), float(hi))
