"""The PostgreSQL side of the rollups: the same facts and rows as SQLite, in the append's transaction.

Tables (schema v2): ``patterdash_call_facts``, ``patterdash_rollups``, ``patterdash_rollup_hist``
(see ``migrations/postgres.py``). What a commit changes is decided by the pure steps of
``patterdash.core.rollups``, so both backends keep the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

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

__all__ = ["PostgresRollups"]

Conn = psycopg.Connection[Any]
Where = tuple[Sequence[str] | None, str | None, str | None, str | None]  # statuses, direction, agent, provider
SelectEvents = Callable[[Conn, str, Sequence[Any]], list[LoggedEvent]]
_FACTS = ", ".join(FACT_COLUMNS)
_SUMS = ", ".join(SUM_FIELDS)
_KEY = "grain, bucket, status, direction"
_ROW_MARKS = ", ".join(["%s"] * (4 + len(SUM_FIELDS)))
_SETTLED_TYPES = ["call_initiated", "call_start", "call_status", "call_end"]
_FACT_TYPES = [*_SETTLED_TYPES, "turn_complete"]


class PostgresRollups:
    """Keeps and reads the rollup tables of one PostgresStore (each call on a borrowed connection)."""

    def __init__(self, select_events: SelectEvents) -> None:
        self._select = select_events

    def _facts(self, conn: Conn, call_ids: list[str]) -> dict[str, tuple[CallFact, bool]]:
        rows = conn.execute(f"SELECT {_FACTS} FROM patterdash_call_facts WHERE call_id = ANY(%s)", (call_ids,))
        return {row[0]: fact_from_row(row) for row in rows.fetchall()}

    def _fold(self, conn: Conn, call_ids: list[str], commit: Sequence[LoggedEvent] = ()) -> dict[str, CallFact]:
        """As in SQLite (``fold_facts``), its stored events read from this connection."""
        return fold_facts(
            call_ids,
            commit,
            lambda ids, settled, before: self._stored(conn, ids, _SETTLED_TYPES if settled else _FACT_TYPES, before),
        )

    def _stored(self, conn: Conn, call_ids: list[str], types: list[str], before: int) -> dict[str, list[LoggedEvent]]:
        by_call: dict[str, list[LoggedEvent]] = {c: [] for c in call_ids}
        if not call_ids:
            return by_call
        # as in SQLite: skip transcript lines and call events, keep each call's first event
        where = (
            "call_id = ANY(%s) AND (type = ANY(%s)"
            " OR seq IN (SELECT first_seq FROM patterdash_calls WHERE call_id = ANY(%s))) AND seq < %s"
        )
        for ev in self._select(conn, where, (call_ids, types, call_ids, before)):
            by_call[ev.call_id].append(ev)
        return by_call

    def apply(self, conn: Conn, events: list[LoggedEvent]) -> None:
        """Fold a commit's new events (already inserted, same transaction) into facts and rollups."""
        ids = candidates(events)
        if not ids:
            return
        known = self._facts(conn, ids)
        changes = commit_changes(events, {cid: deleted for cid, (_, deleted) in known.items()})
        if not changes:
            return
        fresh = self._fold(conn, [cid for cid, c in changes.items() if c.recompute], events)
        facts, deltas = plan_writes(changes, known, fresh)
        self._write(conn, [fact_row(f, deleted=d) for f, d in facts], deltas)

    @staticmethod
    def _write(conn: Conn, facts: list[tuple[Any, ...]], deltas: Deltas) -> None:
        with conn.cursor() as cur:
            if facts:
                updates = ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
                cur.executemany(
                    f"INSERT INTO patterdash_call_facts ({_FACTS}) VALUES ({', '.join(['%s'] * len(FACT_COLUMNS))})"
                    f" ON CONFLICT (call_id) DO UPDATE SET {updates}",
                    facts,
                )
            if deltas.rows:
                adds = ", ".join(f"{f} = patterdash_rollups.{f} + excluded.{f}" for f in SUM_FIELDS)
                cur.executemany(
                    f"INSERT INTO patterdash_rollups ({_KEY}, {_SUMS}) VALUES ({_ROW_MARKS})"
                    f" ON CONFLICT ({_KEY}) DO UPDATE SET {adds}",
                    [(*k, *v) for k, v in deltas.rows.items()],
                )
            if deltas.hist:
                cur.executemany(
                    f"INSERT INTO patterdash_rollup_hist ({_KEY}, bin, turns) VALUES (%s, %s, %s, %s, %s, %s)"
                    f" ON CONFLICT ({_KEY}, bin) DO UPDATE SET turns = patterdash_rollup_hist.turns + excluded.turns",
                    [(*k, v) for k, v in deltas.hist.items()],
                )

    def rebuild(self, conn: Conn, *, on_call: Callable[[], None] | None = None) -> int:
        """Recompute every fact and rollup row from the log (inside the caller's transaction)."""
        conn.execute("TRUNCATE patterdash_call_facts, patterdash_rollups, patterdash_rollup_hist")
        after, count, deltas = -1, 0, Deltas()
        while True:
            rows = conn.execute(
                "SELECT call_id, completed_seq, deleted FROM patterdash_calls WHERE completed_seq IS NOT NULL"
                " AND completed_seq > %s ORDER BY completed_seq LIMIT 500",
                (after,),
            ).fetchall()
            if not rows:
                break
            after = rows[-1][1]
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

    @staticmethod
    def _filters(statuses: Sequence[str] | None, direction: str | None) -> tuple[str, list[Any]]:
        where, params = "", list[Any]()
        if statuses is not None:
            where += " AND status = ANY(%s)"
            params.append(list(statuses))
        if direction is not None:
            where += " AND direction = %s"
            params.append(direction)
        return where, params

    def rows(
        self,
        conn: Conn,
        spans: Sequence[Span],
        *,
        every: int,
        statuses: Sequence[str] | None,
        direction: str | None,
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """Sums per (bucket of ``every`` s, status) and histogram counts per (bucket, bin), summed in SQL."""
        if not spans:
            return [], []
        where = " OR ".join("(grain = %s AND bucket >= %s AND bucket < %s)" for _ in spans)
        params: list[Any] = [v for span in spans for v in span]
        more, extra = self._filters(statuses, direction)
        sums = ", ".join(f"sum({f})" for f in SUM_FIELDS)
        rows = conn.execute(
            f"SELECT (bucket / %s) * %s AS t, status, {sums} FROM patterdash_rollups WHERE ({where}){more}"
            " GROUP BY t, status HAVING sum(calls) != 0",
            (every, every, *params, *extra),
        ).fetchall()
        hist = conn.execute(
            "SELECT (bucket / %s) * %s AS t, bin, sum(turns) FROM patterdash_rollup_hist"
            f" WHERE ({where}){more} GROUP BY t, bin HAVING sum(turns) != 0",
            (every, every, *params, *extra),
        ).fetchall()
        return [[int(r[0]), r[1], *(int(v) for v in r[2:])] for r in rows], [[int(t), b, int(n)] for t, b, n in hist]

    def _facts_where(self, lo: float, hi: float, w: Where) -> tuple[str, list[Any]]:
        statuses, direction, agent, provider = w
        where, params = self._filters(statuses, direction)
        if agent is not None:
            where += " AND agent = %s"
            params.append(agent)
        if provider is not None:
            where += " AND strpos(providers, %s) > 0"
            params.append(f"|{provider}|")
        return f"deleted = 0 AND started_at >= %s AND started_at <= %s{where}", [lo, hi, *params]

    def facts(
        self,
        conn: Conn,
        lo: float,
        hi: float,
        w: Where,
        limit: int,
        offset: int,
        before: tuple[float, str] | None,
    ) -> list[CallFact]:
        """Not deleted facts started in [lo, hi], newest first, after the keyset ``before``."""
        where, params = self._facts_where(lo, hi, w)
        if before is not None:
            where += " AND (started_at, call_id) < (%s, %s)"
            params += [before[0], before[1]]
        rows = conn.execute(
            f"SELECT {_FACTS} FROM patterdash_call_facts WHERE {where}"
            " ORDER BY started_at DESC, call_id DESC LIMIT %s OFFSET %s",
            (*params, limit, offset),
        ).fetchall()
        return [fact_from_row(row)[0] for row in rows]

    def count(self, conn: Conn, lo: float, hi: float, w: Where) -> int:
        """How many not deleted facts of the range match."""
        where, params = self._facts_where(lo, hi, w)
        row = conn.execute(f"SELECT count(*) FROM patterdash_call_facts WHERE {where}", params).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def span(conn: Conn) -> tuple[float, float] | None:
        """The first and last start among counted calls."""
        row = conn.execute(
            "SELECT min(started_at), max(started_at) FROM patterdash_call_facts WHERE deleted = 0"
        ).fetchone()
        return None if row is None or row[0] is None else (float(row[0]), float(row[1]))
