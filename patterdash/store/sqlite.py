"""The SQLite event log: the single source of truth, and the only module that runs SQL.

Tables: ``events`` (the append-only log), ``calls`` (a per-call summary derived
from the log in the same transaction as each append, so start-up reads only the
ring and active calls), ``tokens`` (hashed API tokens) and ``meta``.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
import sqlite_utils

from patterdash.core.events import LoggedEvent
from patterdash.core.rollups import CallFact, Span
from patterdash.store import sqlite_erase
from patterdash.store.base import AppendOutcome, LogError, SchemaTooNew
from patterdash.store.batching import conflicts_of, fold_call_summary, plan_append, summary_steps
from patterdash.store.migrations import SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION
from patterdash.store.sqlite_files import (
    Checkpointer,
    WriterLock,
    check_files,
    check_wal_recovered,
    immediate,
    wal_started,
)
from patterdash.store.sqlite_rollups import HistoryQuery, SqliteRollups

__all__ = ["EventLog", "fold_call_summary"]

Synchronous = Literal["NORMAL", "FULL"]
_T = TypeVar("_T")
_CHUNK = 500
_PAGE = 2_000  # events per one-step read (see _select_events)
# Rows per multi-row INSERT statement (largest first; each size is one cached statement).
_ROWS_PER_STATEMENT = (256, 32, 4, 1)
# Open EventLogs per file in this process. Closing ANY descriptor of a file drops every
# POSIX lock this process holds on it, so the pre-open checks below (plain open/close of
# the db, -wal and -shm) must not run while a connection here is live: another process
# would then think it is the last connection, checkpoint and delete the WAL under us.
_OPEN_LOGS: dict[Path, int] = {}
_OPEN_LOGS_LOCK = threading.Lock()


def _in_chunks(ids: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """``ids`` in chunks of ``_CHUNK``, each with its ``?,?,...`` placeholders for ``IN (...)``."""
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        yield chunk, ",".join("?" * len(chunk))


@functools.cache
def _values_sql(head: str, width: int, rows: int, tail: str) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"{head} {', '.join([row] * rows)}{tail}"


class EventLog:
    """One connection to the log file. Thread-safe by a lock; one writer per process."""

    backend = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 5000,
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.migrated_from = 0  # the schema version found on opening (set by _migrate)
        if not create and not self.path.exists():
            raise LogError(f"no event log at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = WriterLock()  # a plain lock, and the busy timeout around inline appends
        self._key = self.path.resolve()
        with _OPEN_LOGS_LOCK:
            if not _OPEN_LOGS.get(self._key):
                committed_frames, salts = check_files(self.path)
                if committed_frames:
                    check_wal_recovered(self.path, committed_frames, salts)
            _OPEN_LOGS[self._key] = _OPEN_LOGS.get(self._key, 0) + 1
        self._registered = True
        try:
            conn = sqlite3.connect(
                self.path,
                check_same_thread=False,
                isolation_level=None,
                timeout=busy_timeout_ms / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # Pages freed by retention and erasure go back to the file system in each bounded purge
            # (PRAGMA incremental_vacuum), not only by a full VACUUM. Takes effect on a new file; an
            # older log converts at its next VACUUM (``patterdash purge``).
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            self._max_variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self.db = sqlite_utils.Database(conn)
            self._rollups = SqliteRollups(self._insert_rows, _select_events)
            self._migrate()
        except sqlite3.DatabaseError as e:
            self._forget()
            raise LogError(f"cannot open event log {self.path}: {e}") from e
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        with _OPEN_LOGS_LOCK:
            if self._registered:
                self._registered = False
                _OPEN_LOGS[self._key] -= 1

    # -- schema -------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:
            conn = self.db.conn
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = self._version_locked()
            self.migrated_from = version
            if version > SQLITE_SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"event log {self.path} has schema v{version}, newer than this patterdash knows"
                    f" (v{SQLITE_SCHEMA_VERSION}): upgrade patterdash to open it"
                )
            for target in range(version + 1, SQLITE_SCHEMA_VERSION + 1):
                with immediate(conn):
                    SQLITE_MIGRATIONS[target](self.db)
                    conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                        (str(target),),
                    )

    def _version_locked(self) -> int:
        row = self.db.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def schema_version(self) -> int:
        """The schema version recorded in the file."""
        with self._lock:
            return self._wrap(self._version_locked)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite when last to close)."""
        with self._lock:
            self.db.conn.close()
        self._forget()

    # -- appends ------------------------------------------------------------

    def append(self, batches: Sequence[Sequence[dict[str, Any]]], *, known_seq: int) -> AppendOutcome:
        """Append validated batches in ONE transaction (group commit), idempotently by id.

        ``known_seq`` is the last seq the caller has seen; rows other processes
        appended after it are returned too, so the caller projects them in order.
        """
        with self._lock:
            conn = self.db.conn
            try:
                with immediate(conn):
                    outcome = self._append_locked(conn, batches, known_seq)
            except sqlite3.Error as e:
                raise LogError(f"append failed: {e}") from e
        return outcome

    def _append_locked(
        self, conn: sqlite3.Connection, batches: Sequence[Sequence[dict[str, Any]]], known_seq: int
    ) -> AppendOutcome:
        # Every statement here takes a bounded number of SQLite steps, whatever the batch size.
        # sqlite3 releases the GIL around each step, and taking it back waits for the event
        # loop's thread to let go (up to the 5 ms switch interval when it is busy): executemany,
        # one step per row, measured 8.5 ms per row instead of 13 us with the loop busy.
        ids = [ev["id"] for batch in batches for ev in batch]
        call_ids = list(dict.fromkeys(ev["call_id"] for batch in batches for ev in batch if ev["call_id"] != "*"))
        last, seen, completed = self._look_up(conn, ids, call_ids)
        foreign = self._read_after_locked(known_seq, None) if last > known_seq else []
        plan = plan_append(batches, seen, last)
        conflicts = conflicts_of(plan, len(batches), lambda repeated: self._stored_contents(conn, repeated))
        if plan.rows:
            self._insert_rows(conn, "INSERT INTO events (seq, id, type, call_id, ts, data) VALUES", plan.rows)
            for call_id, seq in self._update_summaries(conn, plan.events).items():
                if completed.get(call_id) is None:  # the summary keeps the first completion ever
                    completed[call_id] = seq
            self._rollups.apply(conn, plan.events)  # history rollups: same transaction as the events
        events = foreign + plan.events
        wanted = {ev.call_id for ev in events}
        completed = {cid: seq for cid, seq in completed.items() if cid in wanted}
        others = wanted - completed.keys() - set(call_ids)  # other processes' calls (foreign rows only)
        completed.update(self._completion_locked(conn, others))
        return AppendOutcome(
            seqs=plan.seqs, events=events, completed=completed, duplicates=len(plan.repeats), conflicts=conflicts
        )

    def _look_up(
        self, conn: sqlite3.Connection, ids: list[str], call_ids: list[str]
    ) -> tuple[int, dict[str, int], dict[str, int | None]]:
        """The log's last seq, the stored seqs of these event ids and the completion seqs of these
        calls, in ONE statement for up to ``_CHUNK`` of each (a single-event commit's only read)."""
        head_ids, head_calls = ids[:_CHUNK], call_ids[:_CHUNK]
        sql = (
            "SELECT (SELECT coalesce(max(seq), 0) FROM events),"
            f" (SELECT json_group_object(id, seq) FROM events WHERE id IN ({','.join('?' * len(head_ids))})),"
            " (SELECT json_group_object(call_id, completed_seq) FROM calls"
            f" WHERE call_id IN ({','.join('?' * len(head_calls))}))"
        )
        last, seen, completed = conn.execute(sql, [*head_ids, *head_calls]).fetchone()
        seqs: dict[str, int] = orjson.loads(seen)
        seqs.update(self._existing_seqs(conn, ids[_CHUNK:]))
        completion: dict[str, int | None] = orjson.loads(completed)
        completion.update(self._completion_locked(conn, call_ids[_CHUNK:]))
        return int(last), seqs, completion

    @staticmethod
    def _stored_contents(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, str, Any]]:
        """(type, call_id, data) of the stored events holding these ids (rare: re-sent ids only)."""
        out: dict[str, tuple[str, str, Any]] = {}
        for chunk, marks in _in_chunks(ids):
            sql = (
                "SELECT json_group_array(json_array(id, type, call_id, CAST(data AS TEXT)))"
                f" FROM events WHERE id IN ({marks})"
            )
            for event_id, event_type, call_id, data in orjson.loads(conn.execute(sql, chunk).fetchone()[0]):
                out[event_id] = (event_type, call_id, orjson.loads(data))
        return out

    def _insert_rows(
        self, conn: sqlite3.Connection, head: str, rows: Sequence[tuple[Any, ...]], tail: str = ""
    ) -> None:
        """Insert rows with multi-row ``VALUES`` statements: one SQLite step per statement."""
        width = len(rows[0])
        done = 0
        for size in _ROWS_PER_STATEMENT:
            if size * width > self._max_variables:
                continue
            sql = _values_sql(head, width, size, tail)
            while len(rows) - done >= size:
                conn.execute(sql, list(itertools.chain.from_iterable(rows[done : done + size])))
                done += size

    @staticmethod
    def _existing_seqs(conn: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk, marks in _in_chunks(ids):
            sql = f"SELECT json_group_object(id, seq) FROM events WHERE id IN ({marks})"  # one row: one step
            found.update(orjson.loads(conn.execute(sql, chunk).fetchone()[0]))
        return found

    def _update_summaries(self, conn: sqlite3.Connection, events: list[LoggedEvent]) -> dict[str, int | None]:
        """Fold the events into the ``calls`` rows, in SQL, without reading the rows first.

        Each call's events of this commit are folded into a fresh row, which an upsert merges
        into the stored one; a deletion applies to what is stored at its place in the sequence.
        Returns each summarised call's first completion seq in this commit (None: not completed).
        """
        completions: dict[str, int | None] = {}
        for step in summary_steps(events):
            if isinstance(step, dict):
                self._upsert_summaries(conn, step)
                for call_id, row in step.items():
                    if completions.get(call_id) is None:
                        completions[call_id] = row["completed_seq"]
                continue
            for chunk, marks in _in_chunks(step):
                conn.execute(
                    "UPDATE calls SET deleted = 1"
                    f" WHERE deleted = 0 AND completed_seq IS NOT NULL AND call_id IN ({marks})",
                    chunk,
                )
        return completions

    def _upsert_summaries(self, conn: sqlite3.Connection, deltas: dict[str, dict[str, Any]]) -> None:
        # Rows that complete no call leave completed_seq out of the SET: SQLite then skips the
        # (deleted, completed_seq) index, one WAL page less for nearly every commit.
        for completing in (False, True):
            rows = [
                (r["call_id"], r["first_seq"], r["last_seq"], r["last_ts"], r["completed_seq"], r["deleted"])
                for r in deltas.values()
                if (r["completed_seq"] is not None) == completing
            ]
            if not rows:
                continue
            completion = ", completed_seq = coalesce(calls.completed_seq, excluded.completed_seq)"
            self._insert_rows(
                conn,
                "INSERT INTO calls (call_id, first_seq, last_seq, last_ts, completed_seq, deleted) VALUES",
                rows,
                " ON CONFLICT(call_id) DO UPDATE SET last_seq = excluded.last_seq,"
                f" last_ts = max(calls.last_ts, excluded.last_ts){completion if completing else ''}",
            )

    @staticmethod
    def _summaries_locked(conn: sqlite3.Connection, call_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(call_ids)
        out: dict[str, dict[str, Any]] = {}
        cols = ("call_id", "first_seq", "last_seq", "last_ts", "completed_seq", "deleted")
        for chunk, marks in _in_chunks(ids):
            for row in conn.execute(f"SELECT {', '.join(cols)} FROM calls WHERE call_id IN ({marks})", chunk):
                out[row[0]] = dict(zip(cols, row, strict=True))
        return out

    @staticmethod
    def _completion_locked(conn: sqlite3.Connection, call_ids: Iterable[str]) -> dict[str, int | None]:
        ids = [c for c in call_ids if c != "*"]
        out: dict[str, int | None] = {}
        for chunk, marks in _in_chunks(ids):
            sql = f"SELECT json_group_object(call_id, completed_seq) FROM calls WHERE call_id IN ({marks})"
            out.update(orjson.loads(conn.execute(sql, chunk).fetchone()[0]))  # one row: one step
        return out

    # -- reads --------------------------------------------------------------

    def _read_after_locked(self, seq: int, limit: int | None) -> list[LoggedEvent]:
        return _select_events(self.db.conn, "1", (), after=seq, limit=limit)

    def read_after(self, seq: int, *, limit: int | None = None) -> list[LoggedEvent]:
        """Events with seq greater than ``seq``, oldest first."""
        with self._lock:
            return self._wrap(lambda: self._read_after_locked(seq, limit))

    def read_new(self, seq: int, *, limit: int | None = None) -> tuple[list[LoggedEvent], dict[str, int | None]]:
        """Rows appended after ``seq`` (by any process) with their calls' completion seqs."""
        with self._lock:

            def run() -> tuple[list[LoggedEvent], dict[str, int | None]]:
                events = self._read_after_locked(seq, limit)
                return events, self._completion_locked(self.db.conn, {e.call_id for e in events})

            return self._wrap(run)

    def events_for_calls(self, call_ids: Iterable[str]) -> list[LoggedEvent]:
        """Every event of the given calls, in seq order."""
        ids = list(call_ids)
        out: list[LoggedEvent] = []
        with self._lock:
            for chunk, marks in _in_chunks(ids):
                # calls_deleted events belong to no call (their call_id is "*", or whatever an
                # old producer sent): folding one into a call's history would delete others.
                where = f"call_id IN ({marks}) AND type != 'calls_deleted'"
                out += self._wrap(lambda w=where, c=chunk: _select_events(self.db.conn, w, c))  # type: ignore[misc]
        out.sort(key=lambda e: e.seq)
        return out

    def calls_with_number(self, number: str) -> list[str]:
        """Ids of the calls whose caller or callee is ``number`` as stored."""
        with self._lock:
            return sqlite_erase.calls_with_number(self.db.conn, number)

    def completed_before_ts(self, ts: float, *, limit: int) -> list[str]:
        """Up to ``limit`` completed calls whose last event is older than ``ts``, oldest first."""
        sql = "SELECT call_id FROM calls WHERE completed_seq IS NOT NULL AND last_ts < ? ORDER BY last_ts LIMIT ?"
        with self._lock:
            return self._wrap(lambda: [r[0] for r in self.db.conn.execute(sql, (ts, limit))])

    def compact(self) -> None:
        """VACUUM: the file shrinks to what it holds (rewrites it; run it off-peak)."""
        with self._lock:
            self._wrap(lambda: self.db.conn.execute("VACUUM"))

    def purge_calls(self, call_ids: Sequence[str]) -> dict[str, int]:
        """Erase these calls' events and summary rows physically (file and WAL); returns counts."""
        with self._lock:
            return sqlite_erase.purge_calls(self.db.conn, list(dict.fromkeys(call_ids)))

    def call_summary(self, call_id: str) -> dict[str, Any] | None:
        """The ``calls`` row of one call, or None if the log never saw it."""
        with self._lock:
            return self._wrap(lambda: self._summaries_locked(self.db.conn, [call_id]).get(call_id))

    def call_ids(self) -> list[str]:
        """Every call id the log has seen (deleted ones too), for suggestions on a typo."""
        with self._lock:
            return self._wrap(lambda: [r[0] for r in self.db.conn.execute("SELECT call_id FROM calls")])

    def completed_count(self) -> int:
        """How many completed, not deleted calls the log holds (an export's length)."""
        with self._lock:
            sql = "SELECT count(*) FROM calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
            return int(self._wrap(lambda: self.db.conn.execute(sql).fetchone()[0]))

    def rebuild_selection(self, ring_size: int) -> tuple[list[str], list[str]]:
        """(active call ids, newest ``ring_size`` completed non-deleted call ids) from the summary."""
        with self._lock:
            conn = self.db.conn

            def run() -> tuple[list[str], list[str]]:
                # through the (deleted, completed_seq) index, not a scan of every call ever seen
                sql = "SELECT call_id FROM calls WHERE deleted IN (0, 1) AND completed_seq IS NULL"
                active = [r[0] for r in conn.execute(sql)]
                ring = [
                    r[0]
                    for r in conn.execute(
                        "SELECT call_id FROM calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
                        " ORDER BY completed_seq DESC LIMIT ?",
                        (ring_size,),
                    )
                ]
                return active, ring

            return self._wrap(run)

    def completed_before(self, completed_seq: int, *, count: int) -> list[str]:
        """The ``count`` newest completed, non-deleted calls that completed before ``completed_seq``."""
        with self._lock:
            return self._wrap(
                lambda: [
                    r[0]
                    for r in self.db.conn.execute(
                        "SELECT call_id FROM calls WHERE deleted = 0 AND completed_seq IS NOT NULL"
                        " AND completed_seq < ? ORDER BY completed_seq DESC LIMIT ?",
                        (completed_seq, count),
                    )
                ]
            )

    def iter_completed_calls(self, *, batch: int = 200) -> Iterator[list[LoggedEvent]]:
        """Each completed, non-deleted call's events, oldest completion first, in constant memory."""
        after = 0
        while True:
            with self._lock:
                ids_seqs: list[Any] = self._wrap(
                    lambda a=after: list(  # type: ignore[misc]
                        self.db.conn.execute(
                            "SELECT call_id, completed_seq FROM calls WHERE deleted = 0"
                            " AND completed_seq > ? ORDER BY completed_seq LIMIT ?",
                            (a, batch),
                        )
                    )
                )
            if not ids_seqs:
                return
            after = ids_seqs[-1][1]
            by_call: dict[str, list[LoggedEvent]] = {cid: [] for cid, _ in ids_seqs}
            for ev in self.events_for_calls(by_call):
                by_call[ev.call_id].append(ev)
            yield from by_call.values()

    def max_seq(self) -> int:
        """The highest seq in the log (0 when empty)."""
        with self._lock:
            return int(
                self._wrap(lambda: self.db.conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
            )

    def subscribe(self, wake: Callable[[], object]) -> None:
        """No push from SQLite: ``change_marker`` (``PRAGMA data_version``) is polled, cheaply."""

    def try_lead(self) -> bool:
        """Processes on one file do not elect: each server closes stale calls (ids dedupe them)."""
        return True

    def change_marker(self) -> int:
        """Changes whenever another connection commits (cheap change detection)."""
        with self._lock:
            return int(self._wrap(lambda: self.db.conn.execute("PRAGMA data_version").fetchone()[0]))

    def stats(self, *, integrity: bool = True) -> dict[str, Any]:
        """Sizes and counts for ``patterdash stats``."""
        with self._lock:
            conn = self.db.conn

            def run() -> dict[str, Any]:
                by_type = dict(conn.execute("SELECT type, count(*) FROM events GROUP BY type ORDER BY type"))
                lo, hi, first_ts, last_ts = conn.execute(
                    "SELECT min(seq), max(seq), min(ts), max(ts) FROM events"
                ).fetchone()
                completed, active, deleted = conn.execute(
                    "SELECT sum(completed_seq IS NOT NULL AND deleted = 0), sum(completed_seq IS NULL),"
                    " sum(deleted) FROM calls"
                ).fetchone()
                check = conn.execute("PRAGMA integrity_check").fetchone()[0] if integrity else None
                return {
                    "events_by_type": by_type,
                    "events": sum(by_type.values()),
                    "seq_range": [lo, hi],
                    "first_ts": first_ts,
                    "last_ts": last_ts,
                    "calls": {
                        "completed": completed or 0,
                        "active": active or 0,
                        "deleted": deleted or 0,
                    },
                    "integrity": check,
                }

            out = self._wrap(run)
        size = sum(p.stat().st_size for p in self._files() if p.exists())
        return {"path": str(self.path), "size_bytes": size, **out}

    def _files(self) -> list[Path]:
        return [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]

    # -- history (rollups, see sqlite_rollups.py) ---------------------------

    def rollup_rows(
        self, spans: Sequence[Span], *, every: int, statuses: Sequence[str] | None, direction: str | None
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """Rollup rows and histogram rows in the spans, per bucket (see ``Rollups``)."""
        with self._lock:
            return self._wrap(
                lambda: HistoryQuery.rows(self.db.conn, spans, every=every, statuses=statuses, direction=direction)
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
        where = HistoryQuery.Where(statuses, direction, agent, provider)
        with self._lock:
            return self._wrap(lambda: HistoryQuery.facts(self.db.conn, lo, hi, where, limit, offset, before))

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
        where = HistoryQuery.Where(statuses, direction, agent, provider)
        with self._lock:
            return self._wrap(lambda: HistoryQuery.count(self.db.conn, lo, hi, where))

    def facts_span(self) -> tuple[float, float] | None:
        """The first and last start among counted calls."""
        with self._lock:
            return self._wrap(lambda: HistoryQuery.span(self.db.conn))

    def rebuild_rollups(self, *, on_call: Callable[[], None] | None = None) -> int:
        """Recompute the facts and rollups from the log in one transaction."""
        with self._lock:
            conn = self.db.conn
            try:
                with immediate(conn):
                    count = self._rollups.rebuild(conn, on_call=on_call)
            except sqlite3.Error as e:
                raise LogError(f"rollup rebuild failed: {e}") from e
        return count

    # -- tokens -------------------------------------------------------------

    def tokens(self) -> list[dict[str, Any]]:
        """Every stored token row (hashes, never secrets)."""
        with self._lock:
            return self._wrap(lambda: list(self.db["tokens"].rows_where(order_by="created_at")))

    def add_token(self, row: dict[str, Any]) -> None:
        """Store a new token row (``hash`` already computed)."""
        with self._lock:
            self._wrap(lambda: self.db["tokens"].insert(row))  # type: ignore[union-attr]

    def update_token(self, token_id: str, **values: Any) -> bool:
        """Set columns on a token row; False if no such token."""
        with self._lock:
            conn = self.db.conn
            sets = ", ".join(f"{k} = ?" for k in values)
            cur = self._wrap(
                lambda: conn.execute(f"UPDATE tokens SET {sets} WHERE id = ?", (*values.values(), token_id))
            )
            return bool(cur.rowcount)

    # -- appends on the event loop (see patterdash/inline.py) ----------------

    _seen_version: int | None = None  # data_version at try_append's last look

    def try_append(self, batches: Sequence[Sequence[dict[str, Any]]], *, known_seq: int) -> AppendOutcome | None:
        """``append`` only if nothing makes it wait, else None with nothing written.

        Declines when the connection is in use, when the WAL is empty (its first frame flushes
        the header), when another connection holds the write lock (zero busy timeout: SQLITE_BUSY
        at once) and when another connection wrote since the last look (its rows, maybe many,
        are read by ``append`` on a thread; a checkpoint it ran may restart the WAL: a flush).
        """
        if not self._lock.acquire(blocking=False):
            return None
        conn = self.db.conn
        try:
            if not wal_started(self.path):
                return None
            self._lock.without_waits(conn)
            with immediate(conn):
                version = conn.execute("PRAGMA data_version").fetchone()[0]  # cheap inside: lock held
                if version != self._seen_version:
                    self._seen_version = version
                    raise _Declined
                return self._append_locked(conn, batches, known_seq)
        except _Declined:  # rolled back, nothing written
            return None
        except sqlite3.Error as e:
            if e.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:  # rolled back: the thread retries
                return None
            raise LogError(f"append failed: {e}") from e
        finally:
            self._lock.release()

    def checkpointer(self) -> Checkpointer:
        """Stop checkpointing inside commits; the caller runs the returned checkpointer off the loop."""
        with self._lock:
            self._wrap(lambda: self.db.conn.execute("PRAGMA wal_autocheckpoint = 0"))
        return Checkpointer(self.path)

    # -- helpers ------------------------------------------------------------

    @staticmethod
    def _wrap(fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except sqlite3.Error as e:
            raise LogError(str(e)) from e


class _Declined(Exception):
    """try_append gives the group back to the thread (raised inside its transaction to roll it back)."""


def _select_events(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], *, after: int = 0, limit: int | None = None
) -> list[LoggedEvent]:
    """Events matching ``where`` with seq above ``after``, in seq order, a page per SQLite step.

    A cursor steps once per row and sqlite3 gives the GIL up around every step; with the
    event loop busy, taking it back waits for the switch interval: 1,000 rows took 10.5 s
    instead of 10 ms. Here each page comes back as ONE row, a JSON array: ``quote(ts)`` is
    exact (SQLite falls back to 20 digits when 15 do not round-trip) and ``data`` is the
    stored text itself, so ``data_json`` keeps the stored bytes.
    """
    out: list[LoggedEvent] = []
    while limit is None or len(out) < limit:
        size = _PAGE if limit is None else min(_PAGE, limit - len(out))
        packed = conn.execute(
            "SELECT json_group_array(json_array(seq, id, type, call_id, quote(ts), CAST(data AS TEXT)))"
            f" FROM (SELECT * FROM events WHERE ({where}) AND seq > ? ORDER BY seq LIMIT ?)",
            (*params, after, size),
        ).fetchone()[0]
        rows = sorted(orjson.loads(packed), key=lambda r: r[0])
        out += [
            LoggedEvent(seq, event_id, event_type, call_id, float(ts), orjson.loads(data), data.encode())
            for seq, event_id, event_type, call_id, ts, data in rows
        ]
        if len(rows) < size:
            break
        after = rows[-1][0]
    return out
