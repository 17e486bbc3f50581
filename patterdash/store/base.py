"""The storage contract: what the service, the CLI and the routes need from a log, whatever holds it.

Four narrow roles (the event store, the calls index, the token store, admin), and ``Store``,
which is all four: what ``open_store(url)`` returns. Every backend passes one contract test
suite (``tests/test_store_contract.py``); nothing outside ``patterdash/store/`` names a backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

from patterdash.core.events import LoggedEvent
from patterdash.core.rollups import CallFact, Span

__all__ = [
    "AppendOutcome",
    "CallsIndex",
    "Checkpoints",
    "Eraser",
    "EventStore",
    "InlineAppends",
    "LogError",
    "Rollups",
    "SchemaTooNew",
    "Store",
    "StoreAdmin",
    "StoreUnavailable",
    "TokenStore",
    "content_hash",
]


class LogError(RuntimeError):
    """The log cannot be opened, read or written (corrupt file, disk full, locked...)."""


class StoreUnavailable(LogError):
    """The store cannot be reached right now (server down, connection lost): retry later."""


class SchemaTooNew(LogError):
    """The store was written by a newer patterdash than this one; refuse rather than guess."""


@dataclass
class AppendOutcome:
    """What one group-commit transaction did."""

    seqs: list[list[int]]  # per submitted batch, the seq of each event (old seq if duplicate)
    events: list[LoggedEvent]  # every row newly visible, in seq order (foreign rows first)
    completed: dict[str, int | None] = field(default_factory=dict)  # call_id -> completed_seq
    duplicates: int = 0
    # per submitted batch, the indexes of events whose id was already stored with other content
    conflicts: list[list[int]] = field(default_factory=list)


def content_hash(event_type: str, call_id: str, data: Any) -> bytes:
    """What an event says, as a digest: a re-used id with another digest is a conflict.

    ``ts`` is left out on purpose: a retry without a client time gets the server's time
    again, and the stale-call closer re-sends its ``lost`` event with a new time.
    """
    blob = orjson.dumps([event_type, call_id, data], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(blob, digest_size=16).digest()


@runtime_checkable
class EventStore(Protocol):
    """The append-only log: idempotent batch appends, reads by position and by call."""

    def append(self, batches: Sequence[Sequence[dict[str, Any]]], *, known_seq: int) -> AppendOutcome:
        """Append validated batches in one transaction, idempotently by id; also returns rows
        others appended after ``known_seq`` so the caller projects everything in order."""
        ...

    def read_after(self, seq: int, *, limit: int | None = None) -> list[LoggedEvent]:
        """Events with seq greater than ``seq``, oldest first (at most ``limit``)."""
        ...

    def read_new(self, seq: int, *, limit: int | None = None) -> tuple[list[LoggedEvent], dict[str, int | None]]:
        """Rows appended after ``seq`` (by anyone) with their calls' completion seqs: the tail."""
        ...

    def events_for_calls(self, call_ids: Iterable[str]) -> list[LoggedEvent]:
        """Every event of the given calls, in seq order (``calls_deleted`` events excluded)."""
        ...

    def max_seq(self) -> int:
        """The highest committed seq (0 when empty)."""
        ...

    def change_marker(self) -> Hashable:
        """A cheap value that changes whenever another writer commits (events or tokens)."""
        ...

    def subscribe(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` (from any thread) when another writer may have committed: a hint
        to tail now; callers still poll ``change_marker``, so a lost hint only delays."""
        ...


@runtime_checkable
class Eraser(Protocol):
    """Erasure for good (retention, requests): the rows go, and so do their bytes where the backend can."""

    def calls_with_number(self, number: str) -> list[str]:
        """Ids of the calls whose caller or callee is ``number`` as stored."""
        ...

    def completed_before_ts(self, ts: float, *, limit: int) -> list[str]:
        """Up to ``limit`` completed calls whose last event is older than ``ts``, oldest first (retention)."""
        ...

    def compact(self) -> None:
        """Give the space of purged rows back (SQLite: VACUUM, the file shrinks)."""
        ...

    def purge_calls(self, call_ids: Sequence[str]) -> dict[str, int]:
        """Delete every event (log-wide ones kept) and the summary row of these calls; returns
        ``{"events": n, "calls": m, ...}``. Idempotent."""
        ...


@runtime_checkable
class CallsIndex(Protocol):
    """The per-call summary kept in the append's transaction: start-up and paging without a scan."""

    def call_summary(self, call_id: str) -> dict[str, Any] | None:
        """The summary row of one call (call_id, first_seq, last_seq, last_ts, completed_seq,
        deleted), or None if the log never saw it."""
        ...

    def call_ids(self) -> list[str]:
        """Every call id the log has seen (deleted ones too)."""
        ...

    def completed_count(self) -> int:
        """How many completed, not deleted calls the log holds."""
        ...

    def rebuild_selection(self, ring_size: int) -> tuple[list[str], list[str]]:
        """(active call ids, newest ``ring_size`` completed non-deleted call ids)."""
        ...

    def completed_before(self, completed_seq: int, *, count: int) -> list[str]:
        """The ``count`` newest completed, non-deleted calls completed before ``completed_seq``."""
        ...

    def iter_completed_calls(self, *, batch: int = 200) -> Iterator[list[LoggedEvent]]:
        """Each completed, non-deleted call's events, oldest completion first, in constant memory."""
        ...


@runtime_checkable
class TokenStore(Protocol):
    """Hashed API tokens, shared by every node on the store."""

    def tokens(self) -> list[dict[str, Any]]:
        """Every stored token row (hashes, never secrets), oldest first."""
        ...

    def add_token(self, row: dict[str, Any]) -> None:
        """Store a new token row (``hash`` already computed)."""
        ...

    def update_token(self, token_id: str, **values: Any) -> bool:
        """Set columns on a token row; False if no such token."""
        ...


@runtime_checkable
class StoreAdmin(Protocol):
    """Where the store is, what schema it holds, its counts, and closing it."""

    backend: str  # "sqlite" or "postgresql"
    location: str  # printable, never with a password
    migrated_from: int  # the schema version found on opening (before forward migrations)

    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        ...

    def stats(self, *, integrity: bool = True) -> dict[str, Any]:
        """Sizes and counts for ``patterdash stats``."""
        ...

    def try_lead(self) -> bool:
        """Whether this node leads the nodes sharing the store (one closes stale calls); a
        store only one server serves answers True."""
        ...

    def close(self) -> None:
        """Release connections (idempotent)."""
        ...


@runtime_checkable
class Rollups(Protocol):
    """History over the whole log: per-call facts and rollup rows, kept by ``append`` in its own
    transaction (``patterdash.core.rollups`` says what a call contributes) and rebuilt on demand."""

    def rollup_rows(
        self, spans: Sequence[Span], *, every: int, statuses: Sequence[str] | None, direction: str | None
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """The rollup rows in the spans summed per ``every``-second bucket and status, as
        (t, status, *SUM_FIELDS), and the turn-latency histogram per bucket as (t, bin, turns)."""
        ...

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
        """Counted calls started in [lo, hi], newest first (started_at, call_id), after ``before``
        (a keyset, for scans) and ``offset`` (for pages)."""
        ...

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
        ...

    def facts_span(self) -> tuple[float, float] | None:
        """The first and last start among counted calls (None when there is none)."""
        ...

    def rebuild_rollups(self, *, on_call: Callable[[], None] | None = None) -> int:
        """Recompute the facts and rollups from the log in one transaction; the calls folded."""
        ...


@runtime_checkable
class Store(EventStore, CallsIndex, TokenStore, StoreAdmin, Rollups, Eraser, Protocol):
    """Everything a patterdash node needs from its log."""


class Checkpoints(Protocol):
    """Copies a write-ahead log back into the database, on a connection of its own (see ``InlineAppends``)."""

    def run(self) -> tuple[int, int]:
        """One checkpoint; (frames in the log, frames copied back): equal when the log may restart."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class InlineAppends(Protocol):
    """Optional: a store whose small appends may run on the event loop (SQLite; PostgreSQL commits
    are network round trips and stay on a thread)."""

    def try_append(self, batches: Sequence[Sequence[dict[str, Any]]], *, known_seq: int) -> AppendOutcome | None:
        """``append`` if it can run now without waiting on a lock, a flush or others' rows; else None,
        nothing written (the caller then uses ``append`` on a thread)."""
        ...

    def checkpointer(self) -> Checkpoints:
        """Stop checkpointing inside commits; the caller runs the returned checkpointer off the loop."""
        ...
