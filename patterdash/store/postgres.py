"""The PostgreSQL log: one shared log that several patterdash nodes append to and tail.

Tables ``patterdash_events``, ``patterdash_calls``, ``patterdash_tokens``, ``patterdash_meta``
(see ``migrations/postgres.py``). Every append takes one transaction-level advisory lock, so
seqs are gapless and commit in insert order: a reader paging by ``seq > position`` never skips
a seq that commits later. Commits ``NOTIFY patterdash_events``: other nodes wake at once and
pull by position; they also poll, so a lost notification only delays them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
import psycopg
import psycopg_pool
from psycopg import sql

from patterdash.core.events import LoggedEvent
from patterdash.core.rollups import CallFact, Span
from patterdash.store import redact_url
from patterdash.store.base import AppendOutcome, LogError, SchemaTooNew, StoreUnavailable
from patterdash.store.batching import conflicts_of, plan_append, summary_steps
from patterdash.store.migrations import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION
from patterdash.store.postgres_rollups import PostgresRollups

__all__ = ["PostgresStore"]

log = logging.getLogger("patterdash.store")
_T = TypeVar("_T")
_PAGE = 2_000
_APPEND_LOCK = 0x7061_7474_0001  # advisory lock keys ("patt" + n): one per role
_LEADER_LOCK = 0x7061_7474_0002
_MIGRATE_LOCK = 0x7061_7474_0003
_CHANNEL = "patterdash_events"
_TOKEN_COLUMNS = ("id", "scope", "hash", "created_at", "last_used_at", "expires_at", "revoked_at")
_CALL_COLUMNS = ("call_id", "first_seq", "last_seq", "last_ts", "completed_seq", "deleted")
_EVENT_COLUMNS = "seq, id, type, call_id, ts, data"


def _translate(e: Exception, location: str) -> LogError:
    if isinstance(e, psycopg_pool.PoolTimeout | psycopg.OperationalError):
        return StoreUnavailable(f"PostgreSQL at {location} is unavailable: {str(e).strip().splitlines()[0]}")
    return LogError(f"PostgreSQL at {location}: {str(e).strip().splitlines()[0]}")


class PostgresStore:
    """A pool of connections to one PostgreSQL log; thread-safe (each call borrows a connection)."""

    backend = "postgresql"

    def __init__(self, url: str, *, connect_timeout: float = 5.0, pool_size: int = 4) -> None:
        self.url = url
        self.location = redact_url(url)
        self.migrated_from = 0
        self._timeout = connect_timeout
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
            check=psycopg_pool.ConnectionPool.check_connection,  # drop connections a restart broke
            open=False,
            timeout=connect_timeout,
            name="patterdash",
        )
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._leader: psycopg.Connection[Any] | None = None
        self._leader_lock = threading.Lock()
        self._leading = False
        self._rollups = PostgresRollups(_select)
        try:
            # one direct connection first: an unreachable server or a refused login is one clear line
            psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))).close()
            self._pool.open(wait=True, timeout=connect_timeout)
            self._run(self._migrate)
            if self.migrated_from < 2:  # schema v2 added the history rollups: fill them from the log
                self.rebuild_rollups()
        except psycopg.Error as e:
            self._pool.close()
            raise _translate(e, self.location) from e
        except psycopg_pool.PoolTimeout as e:
            self._pool.close()
            raise StoreUnavailable(f"cannot reach PostgreSQL at {self.location} within {connect_timeout:g} s") from e
        except BaseException:
            self._pool.close()
            raise

    # -- plumbing -----------------------------------------------------------

    def _run(self, fn: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        try:
            with self._pool.connection() as conn:
                return fn(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as e:
            raise _translate(e, self.location) from e

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():  # one node migrates; the others wait, then find it done
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS patterdash_meta (key text PRIMARY KEY, value text NOT NULL)")
            version = self._version(conn)
            self.migrated_from = version
            if version > POSTGRES_SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"event log {self.location} has schema v{version}, newer than this patterdash knows"
                    f" (v{POSTGRES_SCHEMA_VERSION}): upgrade patterdash to open it"
                )
        for target in range(version + 1, POSTGRES_SCHEMA_VERSION + 1):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
                if self._version(conn) >= target:
                    continue
                for statement in POSTGRES_MIGRATIONS[target]:
                    conn.execute(statement.encode())
                conn.execute(
                    "INSERT INTO patterdash_meta (key, value) VALUES ('schema_version', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(target),),
                )

    @staticmethod
    def _version(conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT value FROM patterdash_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return self._run(self._version)

    def close(self) -> None:
        """Stop the listener, give up leadership, close the pool (idempotent)."""
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(LogError):  # wakes the listener now rather than at its next timeout
                self._run(lambda conn: conn.execute("SELECT pg_notify(%s, 'closing')", (_CHANNEL,)))
            self._listener.join(timeout=5)
        with self._leader_lock:
            if self._leader is not None:
                with contextlib.suppress(Exception):
                    self._leader.close()
                self._leader = None
        self._pool.close()

    # -- appends ------------------------------------------------------------

    def append(self, batches: Sequence[Sequence[dict[str, Any]]], *, known_seq: int) -> AppendOutcome:
        """Append validated batches in ONE transaction, idempotently by id, in global seq order."""
        return self._run(lambda conn: self._append(conn, batches, known_seq))

    def _append(
        self, conn: psycopg.Connection[Any], batches: Sequence[Sequence[dict[str, Any]]], known_seq: int
    ) -> AppendOutcome:
        with conn.transaction():
            # held to COMMIT: the next appender computes its seqs after this one is visible
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
            last = self._max_seq(conn)
            foreign = _select(conn, "true", (), after=known_seq) if last > known_seq else []
            ids = [ev["id"] for batch in batches for ev in batch]
            seen = dict(conn.execute("SELECT id, seq FROM patterdash_events WHERE id = ANY(%s)", (ids,)).fetchall())
            plan = plan_append(batches, seen, last)
            conflicts = conflicts_of(plan, len(batches), lambda repeated: _stored_contents(conn, repeated))
            if plan.rows:
                with conn.cursor().copy(f"COPY patterdash_events ({_EVENT_COLUMNS}) FROM STDIN") as copy:
                    for seq, event_id, event_type, call_id, ts, blob in plan.rows:
                        copy.write_row((seq, event_id, event_type, call_id, ts, blob.decode()))
                _update_summaries(conn, plan.events)
                self._rollups.apply(conn, plan.events)  # history rollups: same transaction as the events
                conn.execute("SELECT pg_notify(%s, %s)", (_CHANNEL, str(plan.rows[-1][0])))
            events = foreign + plan.events
            completed = _completion(conn, {ev.call_id for ev in events})
        return AppendOutcome(
            seqs=plan.seqs, events=events, completed=completed, duplicates=len(plan.repeats), conflicts=conflicts
        )

    # -- reads --------------------------------------------------------------

    @staticmethod
    def _max_seq(conn: psycopg.Connection[Any]) -> int:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM patterdash_events").fetchone()[0])  # type: ignore[index]

    def read_after(self, seq: int, *, limit: int | None = None) -> list[LoggedEvent]:
        """Events with seq greater than ``seq``, oldest first."""
        return self._run(lambda conn: _select(conn, "true", (), after=seq, limit=limit))

    def read_new(self, seq: int, *, limit: int | None = None) -> tuple[list[LoggedEvent], dict[str, int | None]]:
        """Rows appended after ``seq`` (by any node) with their calls' completion seqs."""

        def run(conn: psycopg.Connection[Any]) -> tuple[list[LoggedEvent], dict[str, int | None]]:
            with conn.transaction():  # one snapshot for both
                events = _select(conn, "true", (), after=seq, limit=limit)
                return events, _completion(conn, {e.call_id for e in events})

        return self._run(run)

    def events_for_calls(self, call_ids: Iterable[str]) -> list[LoggedEvent]:
        """Every event of the given calls, in seq order (never a ``calls_deleted`` event)."""
        ids = list(call_ids)
        where = "call_id = ANY(%s) AND type != 'calls_deleted'"
        return self._run(lambda conn: _select(conn, where, (ids,)))

    def calls_with_number(self, number: str) -> list[str]:
        """Ids of the calls whose caller or callee is ``number`` as stored."""
        sql = (
            "SELECT DISTINCT call_id FROM patterdash_events"
            " WHERE type IN ('call_initiated', 'call_start', 'call_end')"
            " AND (data::jsonb->>'caller' = %s OR data::jsonb->>'callee' = %s)"
        )
        return self._run(lambda conn: [row[0] for row in conn.execute(sql, (number, number))])

    def completed_before_ts(self, ts: float, *, limit: int) -> list[str]:
        """Up to ``limit`` completed calls whose last event is older than ``ts``, oldest first."""
        sql = (
            "SELECT call_id FROM patterdash_calls WHERE completed_seq IS NOT NULL AND last_ts < %s"
            " ORDER BY last_ts LIMIT %s"
        )
        return self._run(lambda conn: [row[0] for row in conn.execute(sql, (ts, limit))])

    def compact(self) -> None:
        """Plain VACUUM already ran with each purge; space is reused, not given back to the OS."""
        return None

    def purge_calls(self, call_ids: Sequence[str]) -> dict[str, int]:
        """Delete these calls' events and summary rows, then VACUUM so the dead rows' space is reused."""
        ids = list(dict.fromkeys(call_ids))

        def run(conn: psycopg.Connection[Any]) -> dict[str, int]:
            with conn.transaction():
                events = conn.execute(
                    "DELETE FROM patterdash_events WHERE call_id = ANY(%s)"
                    " AND type NOT IN ('calls_deleted', 'calls_purged')",
                    (ids,),
                ).rowcount
                calls = conn.execute("DELETE FROM patterdash_calls WHERE call_id = ANY(%s)", (ids,)).rowcount
                conn.execute("DELETE FROM patterdash_call_facts WHERE call_id = ANY(%s)", (ids,))
            autocommit = conn.autocommit
            conn.autocommit = True  # VACUUM runs outside a transaction
            try:
                conn.execute("VACUUM patterdash_events, patterdash_calls, patterdash_call_facts")
            finally:
                conn.autocommit = autocommit
            return {"events": events, "calls": calls}

        return self._run(run)

    def max_seq(self) -> int:
        """The highest committed seq (0 when empty)."""
        return self._run(self._max_seq)

    def change_marker(self) -> tuple[int, int]:
        """(head seq, tokens version): moves whenever any node appends or changes a token."""
        return self._run(
            lambda conn: conn.execute(  # type: ignore[return-value]
                "SELECT (SELECT coalesce(max(seq), 0) FROM patterdash_events),"
                " (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM patterdash_tokens_version)"
            ).fetchone()
        )

    def subscribe(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` (from a thread) when any node commits; reconnects with backoff."""
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, args=(wake,), name="patterdash-listen", daemon=True)
            self._listener.start()

    def _listen(self, wake: Callable[[], object]) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {_CHANNEL}")
                    delay = 0.2
                    wake()  # whatever committed while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.25, stop_after=1):
                            wake()
            except psycopg.Error as e:  # polling covers the gap; say so once per outage
                log.warning("listening on %s failed (%s); polling until it is back", self.location, e)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)

    def try_lead(self) -> bool:
        """Whether this store holds the cluster-wide leader lock (taken when free; kept until
        the connection or the process dies), so exactly one node closes stale calls."""
        with self._leader_lock:
            try:
                if self._leader is None or self._leader.closed:
                    self._leader = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                    self._leading = False
                if not self._leading:
                    row = self._leader.execute("SELECT pg_try_advisory_lock(%s)", (_LEADER_LOCK,)).fetchone()
                    self._leading = bool(row and row[0])
                else:
                    self._leader.execute("SELECT 1")  # still connected, so still the holder
                return self._leading
            except psycopg.Error:
                if self._leader is not None:
                    with contextlib.suppress(Exception):
                        self._leader.close()
                self._leader = None
                return False

    # -- calls index --------------------------------------------------------

    def call_summary(self, call_id: str) -> dict[str, Any] | None:
        """The calls row of one call, or None if the log never saw it."""
        cols = ", ".join(_CALL_COLUMNS)
        row = self._run(
            lambda conn: conn.execute(f"SELECT {cols} FROM patterdash_calls WHERE call_id = %s", (call_id,)).fetchone()
        )
        return dict(zip(_CALL_COLUMNS, row, strict=True)) if row else None

    def call_ids(self) -> list[str]:
        """Every call id the log has seen (deleted ones too)."""
        return self._column("SELECT call_id FROM patterdash_calls", ())

    def completed_count(self) -> int:
        """How many completed, not deleted calls the log holds."""
        sql_ = "SELECT count(*) FROM patterdash_calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
        return int(self._run(lambda conn: conn.execute(sql_).fetchone()[0]))  # type: ignore[index]

    def rebuild_selection(self, ring_size: int) -> tuple[list[str], list[str]]:
        """(active call ids, newest ``ring_size`` completed non-deleted call ids)."""
        active = self._column("SELECT call_id FROM patterdash_calls WHERE completed_seq IS NULL", ())
        ring = self._column(
            "SELECT call_id FROM patterdash_calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
            " ORDER BY completed_seq DESC LIMIT %s",
            (ring_size,),
        )
        return active, ring

    def completed_before(self, completed_seq: int, *, count: int) -> list[str]:
        """The ``count`` newest completed, non-deleted calls completed before ``completed_seq``."""
        return self._column(
            "SELECT call_id FROM patterdash_calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
            " AND completed_seq < %s ORDER BY completed_seq DESC LIMIT %s",
            (completed_seq, count),
        )

    def iter_completed_calls(self, *, batch: int = 200) -> Iterator[list[LoggedEvent]]:
        """Each completed, non-deleted call's events, oldest completion first, in constant memory."""
        after = 0
        while True:
            rows: list[Any] = self._run(
                lambda conn, a=after: conn.execute(  # type: ignore[misc]
                    "SELECT call_id, completed_seq FROM patterdash_calls WHERE deleted = 0"
                    " AND completed_seq > %s ORDER BY completed_seq LIMIT %s",
                    (a, batch),
                ).fetchall()
            )
            if not rows:
                return
            after = rows[-1][1]
            by_call: dict[str, list[LoggedEvent]] = {cid: [] for cid, _ in rows}
            for ev in self.events_for_calls(by_call):
                by_call[ev.call_id].append(ev)
            yield from by_call.values()

    def _column(self, query: str, params: Sequence[Any]) -> list[str]:
        return self._run(lambda conn: [r[0] for r in conn.execute(query.encode(), params)])

    # -- history (rollups, see postgres_rollups.py) -------------------------

    def rollup_rows(
        self, spans: Sequence[Span], *, every: int, statuses: Sequence[str] | None, direction: str | None
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """Rollup rows and histogram rows in the spans, per bucket (see ``Rollups``)."""
        return self._run(
            lambda conn: self._rollups.rows(conn, spans, every=every, statuses=statuses, direction=direction)
        )

    def call_facts(
        self,
        lo: float,
        hi: float,
        *,
        statuses: Sequence[str] | None = None,
        direction: str | None = None,
        agent: str | None = None,
        provider: str | None = None,
        limit: int = 500,
        offset: int = 0,
        before: tuple[float, str] | None = None,
    ) -> list[CallFact]:
        """Counted calls started in [lo, hi], newest first (see ``Rollups``)."""
        where = (statuses, direction, agent, provider)
        return self._run(lambda conn: self._rollups.facts(conn, lo, hi, where, limit, offset, before))

    def count_call_facts(
        self,
        lo: float,
        hi: float,
        *,
        statuses: Sequence[str] | None = None,
        direction: str | None = None,
        agent: str | None = None,
        provider: str | None = None,
    ) -> int:
        """How many counted calls started in [lo, hi] match the filters."""
        where = (statuses, direction, agent, provider)
        return self._run(lambda conn: self._rollups.count(conn, lo, hi, where))

    def facts_span(self) -> tuple[float, float] | None:
        """The first and last start among counted calls."""
        return self._run(self._rollups.span)

    def rebuild_rollups(self, *, on_call: Callable[[], None] | None = None) -> int:
        """Recompute the facts and rollups from the log in one transaction (appends wait for it)."""

        def run(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
                return self._rollups.rebuild(conn, on_call=on_call)

        return self._run(run)

    # -- tokens -------------------------------------------------------------

    def tokens(self) -> list[dict[str, Any]]:
        """Every stored token row (hashes, never secrets), oldest first."""
        cols = ", ".join(_TOKEN_COLUMNS)
        rows = self._run(
            lambda conn: conn.execute(f"SELECT {cols} FROM patterdash_tokens ORDER BY created_at").fetchall()
        )
        return [dict(zip(_TOKEN_COLUMNS, row, strict=True)) for row in rows]

    def add_token(self, row: dict[str, Any]) -> None:
        """Store a new token row; every node reloads its tokens on its next poll."""
        values = [row.get(c) for c in _TOKEN_COLUMNS]

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                cols = ", ".join(_TOKEN_COLUMNS)
                conn.execute(f"INSERT INTO patterdash_tokens ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s)", values)
                conn.execute("SELECT nextval('patterdash_tokens_version')")

        self._run(run)

    def update_token(self, token_id: str, **values: Any) -> bool:
        """Set columns on a token row; False if no such token."""
        unknown = set(values) - set(_TOKEN_COLUMNS[1:])
        if unknown:
            raise LogError(f"unknown token columns {sorted(unknown)}")
        sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)

        def run(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                cur = conn.execute(
                    sql.SQL("UPDATE patterdash_tokens SET {} WHERE id = %s").format(sets), (*values.values(), token_id)
                )
                if set(values) != {"last_used_at"}:  # use times need no reload elsewhere
                    conn.execute("SELECT nextval('patterdash_tokens_version')")
                return bool(cur.rowcount)

        return self._run(run)

    # -- admin --------------------------------------------------------------

    def stats(self, *, integrity: bool = True) -> dict[str, Any]:
        """Counts for ``patterdash stats``; integrity = the seqs are gapless from 1."""

        def run(conn: psycopg.Connection[Any]) -> dict[str, Any]:
            by_type = dict(conn.execute("SELECT type, count(*) FROM patterdash_events GROUP BY type ORDER BY type"))
            lo, hi, first_ts, last_ts, count = conn.execute(  # type: ignore[misc]
                "SELECT min(seq), max(seq), min(ts), max(ts), count(*) FROM patterdash_events"
            ).fetchone()
            completed, active, deleted = conn.execute(  # type: ignore[misc]
                "SELECT count(*) FILTER (WHERE completed_seq IS NOT NULL AND deleted = 0),"
                " count(*) FILTER (WHERE completed_seq IS NULL), coalesce(sum(deleted), 0) FROM patterdash_calls"
            ).fetchone()
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
            check = None
            if integrity:
                check = "ok" if count == (hi or 0) and (lo or 1) == 1 else f"seq gaps: {count} events in 1..{hi}"
            return {
                "path": self.location,
                "size_bytes": int(size),
                "events_by_type": by_type,
                "events": int(count),
                "seq_range": [lo, hi],
                "first_ts": first_ts,
                "last_ts": last_ts,
                "calls": {"completed": completed, "active": active, "deleted": int(deleted)},
                "integrity": check,
            }

        return self._run(run)


def _select(
    conn: psycopg.Connection[Any], where: str, params: Sequence[Any], *, after: int = 0, limit: int | None = None
) -> list[LoggedEvent]:
    """Events matching ``where`` with seq above ``after``, in seq order, a page per round trip."""
    out: list[LoggedEvent] = []
    query = f"SELECT {_EVENT_COLUMNS} FROM patterdash_events WHERE ({where}) AND seq > %s ORDER BY seq LIMIT %s"
    while limit is None or len(out) < limit:
        size = _PAGE if limit is None else min(_PAGE, limit - len(out))
        rows = conn.execute(query.encode(), (*params, after, size)).fetchall()
        out += [
            LoggedEvent(seq, event_id, event_type, call_id, ts, orjson.loads(data), data.encode())
            for seq, event_id, event_type, call_id, ts, data in rows
        ]
        if len(rows) < size:
            break
        after = rows[-1][0]
    return out


def _stored_contents(conn: psycopg.Connection[Any], ids: list[str]) -> dict[str, tuple[str, str, Any]]:
    rows = conn.execute("SELECT id, type, call_id, data FROM patterdash_events WHERE id = ANY(%s)", (ids,))
    return {event_id: (event_type, call_id, orjson.loads(data)) for event_id, event_type, call_id, data in rows}


def _update_summaries(conn: psycopg.Connection[Any], events: list[LoggedEvent]) -> None:
    """The calls rows, in the append's transaction: upsert folded rows, apply deletions in order."""
    with conn.cursor() as cur:
        for step in summary_steps(events):
            if isinstance(step, list):
                cur.execute(
                    "UPDATE patterdash_calls SET deleted = 1"
                    " WHERE deleted = 0 AND completed_seq IS NOT NULL AND call_id = ANY(%s)",
                    (step,),
                )
                continue
            cur.executemany(
                f"INSERT INTO patterdash_calls ({', '.join(_CALL_COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (call_id) DO UPDATE SET last_seq = excluded.last_seq,"
                " last_ts = greatest(patterdash_calls.last_ts, excluded.last_ts),"
                " completed_seq = coalesce(patterdash_calls.completed_seq, excluded.completed_seq)",
                [tuple(r[c] for c in _CALL_COLUMNS) for r in step.values()],
            )


def _completion(conn: psycopg.Connection[Any], call_ids: set[str]) -> dict[str, int | None]:
    ids = [c for c in call_ids if c != "*"]
    if not ids:
        return {}
    rows = conn.execute("SELECT call_id, completed_seq FROM patterdash_calls WHERE call_id = ANY(%s)", (ids,))
    return dict(rows.fetchall())
