"""The one writer: append (group commit) -> fold into the projection -> publish.

Every change goes through ``Service.append``. A single writer task takes all
pending requests, commits them in ONE transaction (inline on the event loop when
the group is small and nothing can make it wait, else on a worker thread: see
``patterdash.inline``), then folds the new rows into the projection, publishes
them, and only then acknowledges the requests. Between appends it picks up rows
other processes wrote, token changes, and calls gone stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from patterdash.auth import TokenSet
from patterdash.core.bus import Bus
from patterdash.core.events import LoggedEvent, completes_call
from patterdash.core.projection import CallState, Projection, fold_call
from patterdash.inline import CommitPath
from patterdash.settings import Settings, redactor_of
from patterdash.store import AppendOutcome, LogError, Store, open_store, redact_url

__all__ = ["Appended", "Service", "ServiceStopped", "Stats", "TooManyActiveCalls"]

log = logging.getLogger("patterdash.service")
T = TypeVar("T")
_MAX_EVENTS_PER_COMMIT = 20_000
_TAIL_CHUNK = 2_000
_CONFLICT_LOG_EVERY = 10.0  # seconds between two warnings about re-used ids
# Folding yields to the loop every this many events, and stale calls are closed this many per
# append: one slice costs well under the ~50 ms a loop turn may take (docs/reliability.md).
_FOLD_SLICE = 200


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ServiceStopped(RuntimeError):
    """The service is shutting down and takes no new appends."""


class TooManyActiveCalls(RuntimeError):
    """Opening these calls would hold more than ``max_active_calls`` in memory."""

    def __init__(self, limit: int, call_ids: list[str]) -> None:
        super().__init__("too many active calls")
        self.limit, self.call_ids = limit, call_ids


@dataclass
class Appended:
    """One request's answer: the seq of each event, and which re-used an id for other content."""

    seqs: list[int]
    conflicts: list[bool]


@dataclass
class _Pending:
    events: list[dict[str, Any]]
    future: asyncio.Future[Appended]


@dataclass
class Stats:
    """Counters for /metrics."""

    events_appended: int = 0
    duplicates: int = 0
    commits: int = 0
    append_errors: int = 0
    store_errors: int = 0  # failed store calls (appends and tails): unreachable, full, damaged...
    head_seq: int = 0  # the log's head at the last tail: lag = head_seq - projection.last_seq
    id_conflicts: int = 0
    calls_refused: int = 0
    ingest_seconds_sum: float = 0.0
    ingest_count: int = 0
    ingest_buckets: dict[float, int] = field(
        default_factory=lambda: dict.fromkeys((0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0), 0)
    )

    def observe_ingest(self, seconds: float) -> None:
        """Record one acknowledged ingest request's latency."""
        self.ingest_seconds_sum += seconds
        self.ingest_count += 1
        for bound in self.ingest_buckets:
            if seconds <= bound:
                self.ingest_buckets[bound] += 1


class Service:
    """Owns the log, the projection, the bus and the tokens of one server process."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.redactor = redactor_of(settings)
        self.projection = Projection(
            ring_size=settings.ring_size, max_lines=settings.max_call_lines, max_bytes=settings.max_call_bytes
        )
        self.bus = Bus()
        self.stats = Stats()
        self.tokens = TokenSet([])
        self.writable = True
        self._config_token = settings.token.get_secret_value() if settings.token else None
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="patterdash-writer")
        self._reader_pool = ThreadPoolExecutor(2, thread_name_prefix="patterdash-reader")
        self._pending: list[_Pending] = []
        self._signalled = False  # the writer loop has work (see _signal / _idle)
        self._waiter: asyncio.Future[None] | None = None
        self._tail_due = False  # another node committed (a store notification): tail now
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._change_marker: Hashable = None
        self._token_use: dict[str, float] = {}
        self._conflicts_logged_at = float("-inf")
        self._store_warned_at = float("-inf")
        self.backend = ""  # which store holds the log ("sqlite", "postgresql"), once started
        # server time an active call's last event arrived: an agent whose clock runs behind
        # (or a replay with old timestamps) must not have its live calls closed as lost
        self._arrived: dict[str, float] = {}
        self._opening: set[str] = set()  # new calls in appends not yet folded (count against the cap)
        self.writer_log: Store | None = None
        self.reader_log: Store | None = None
        self.commits: CommitPath | None = None

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Open the log, rebuild the projection (O(ring + active)) and start the writer."""
        sync = self.settings.synchronous
        self.writer_log = await self._on_writer(lambda: open_store(self.settings.db, synchronous=sync))
        self.backend = self.writer_log.backend
        self.reader_log = await self._on_reader(lambda: open_store(self.settings.db, synchronous=sync))
        try:
            await self._on_writer(self._rebuild)
        except LogError as e:  # say which file: this ends start-up with one line
            raise LogError(f"cannot read event log {redact_url(self.settings.db)}: {e}") from e
        self.bus.reset(self.projection.last_seq)
        self.tokens = await self._on_writer(self._load_tokens)
        self._change_marker = await self._on_writer(self._wlog.change_marker)
        self.commits = CommitPath(self._wlog, self._writer_pool)
        await self.commits.start(synchronous=sync)
        loop = asyncio.get_running_loop()
        self._wlog.subscribe(lambda: loop.call_soon_threadsafe(self._tail_soon))
        self._tasks = [
            asyncio.create_task(self._writer_loop(), name="patterdash-writer"),
            asyncio.create_task(self._stale_loop(), name="patterdash-stale"),
        ]

    async def stop(self) -> None:
        """Stop taking appends, commit everything already accepted, then close."""
        self._stopping = True
        self._signal()
        if self._tasks:
            writer, stale = self._tasks
            stale.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stale
            await writer
        if self.commits is not None:
            await self.commits.stop()
        self.bus.close()
        for one in (self.writer_log, self.reader_log):
            if one is not None:
                pool = self._writer_pool if one is self.writer_log else self._reader_pool
                await asyncio.get_running_loop().run_in_executor(pool, one.close)
        # joined off the loop: a reader thread may still be handing a chunk to the loop
        await asyncio.to_thread(self._writer_pool.shutdown, wait=True)
        await asyncio.to_thread(self._reader_pool.shutdown, wait=True)

    @property
    def _wlog(self) -> Store:
        assert self.writer_log is not None
        return self.writer_log

    @property
    def _rlog(self) -> Store:
        assert self.reader_log is not None
        return self.reader_log

    async def _on_writer(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, fn)

    async def _on_reader(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, fn)

    def _rebuild(self) -> None:
        """Fold only the active calls and the newest ring_size completed calls."""
        active, ring = self._wlog.rebuild_selection(self.settings.ring_size)
        for ev in self._wlog.events_for_calls([*active, *ring]):
            self.projection.apply(ev)
        self.projection.last_seq = self._wlog.max_seq()

    def _load_tokens(self) -> TokenSet:
        return TokenSet.build(config_token=self._config_token, rows=self._wlog.tokens())

    # -- appends ------------------------------------------------------------

    async def append(self, events: list[dict[str, Any]]) -> list[int]:
        """Append validated events atomically; returns their seqs once committed and projected."""
        return (await self.append_checked(events)).seqs

    async def append_checked(self, events: list[dict[str, Any]]) -> Appended:
        """``append``, also saying which events re-used a stored id for other content (kept: the first)."""
        if self._stopping:
            raise ServiceStopped("server is shutting down")
        if self.redactor.active:  # at the door: before anything is stored or published
            events = [self.redactor.event(e) for e in events]
        opening = self._admit_new_calls(events)
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(events, future))
        self._signal()
        try:
            # a cancelled request cancels only its future: the group commits (and skips it) anyway
            return await future
        finally:
            self._opening -= opening

    def _admit_new_calls(self, events: list[dict[str, Any]]) -> set[str]:
        """The calls these events would open, reserved under ``max_active_calls``; refused beyond it."""
        active, ring, opening = self.projection.active, self.projection.ring, self._opening
        new = {
            cid
            for e in events
            if (cid := e["call_id"]) not in active
            and cid not in ring
            and cid not in opening
            and e["type"] != "calls_deleted"
        }
        if not new:
            return new
        new -= {e["call_id"] for e in events if e["call_id"] in new and completes_call(e["type"], e.get("data") or {})}
        limit = self.settings.max_active_calls
        if new and len(self.projection.active) + len(self._opening) + len(new) > limit:
            self.stats.calls_refused += len(new)
            raise TooManyActiveCalls(limit, sorted(new))
        self._opening |= new
        return new

    def _tail_soon(self) -> None:
        self._tail_due = True
        self._signal()

    async def _writer_loop(self) -> None:
        interval = self.settings.poll_interval
        loop = asyncio.get_running_loop()
        last_tail = loop.time()
        while True:
            if not self._pending:
                if self._stopping:
                    return
                await self._idle(interval)
            try:
                if self._pending:
                    await self._commit_pending()
                # Even under sustained ingest, look for other writers and token changes.
                if self._tail_due or loop.time() - last_tail >= interval:
                    self._tail_due = False
                    last_tail = loop.time()
                    await self._tail()
            except asyncio.CancelledError:
                raise
            except LogError as e:  # the store failing or out of reach: counted, said now and then
                self.stats.store_errors += 1
                self._warn_store(e)
            except Exception:  # the writer must survive anything one batch does
                log.exception("writer loop error")

    def _signal(self) -> None:
        """Wake the writer loop."""
        self._signalled = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _idle(self, seconds: float) -> None:
        """Wait for ``_signal`` or ``seconds``: one future and one timer, where
        ``wait_for(event.wait())`` made a task and two more loop turns per commit (~60 us)."""
        if not self._signalled:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(seconds, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        self._signalled = False

    def _warn_store(self, error: LogError) -> None:
        now = time.monotonic()
        if now - self._store_warned_at >= _CONFLICT_LOG_EVERY:
            self._store_warned_at = now
            log.warning("event log unavailable: %s (retrying; reads answer from memory)", error)

    async def _commit_pending(self) -> None:
        """Commit what waits in one transaction, fold it, then acknowledge its requests.

        (Committing the next group while folding this one was tried: within noise, over HTTP
        and in process, so the simpler serial loop stays.)
        """
        taken = self._take_pending()
        outcome = await self._commit(taken, self.projection.last_seq)
        if outcome is not None:
            await self._fold(taken, outcome)

    def _take_pending(self) -> list[_Pending]:
        taken: list[_Pending] = []
        count = 0
        while self._pending and (not taken or count + len(self._pending[0].events) <= _MAX_EVENTS_PER_COMMIT):
            item = self._pending.pop(0)
            taken.append(item)
            count += len(item.events)
        return taken

    async def _commit(self, taken: list[_Pending], known: int) -> AppendOutcome | None:
        """One group-commit transaction; None (requests failed) when refused."""
        assert self.commits is not None
        try:
            outcome = await self.commits.append([p.events for p in taken], known)
        except Exception as e:  # LogError: disk full, read-only, locked...; anything else is a bug
            self.stats.append_errors += 1
            if isinstance(e, LogError):
                self.stats.store_errors += 1
                self.writable = False
                log.error("append failed: %s", e)
            else:
                log.exception("append failed")
            for p in taken:
                if not p.future.done():
                    p.future.set_exception(e)
            return None
        self.writable = True
        self.stats.commits += 1
        self.stats.duplicates += outcome.duplicates
        self.stats.events_appended += len(outcome.events)
        self._note_conflicts(taken, outcome)
        return outcome

    def _note_conflicts(self, taken: list[_Pending], outcome: AppendOutcome) -> None:
        """Count re-used ids with other content; warn at most every few seconds (a client bug, not an attack)."""
        count = sum(len(c) for c in outcome.conflicts)
        if not count:
            return
        self.stats.id_conflicts += count
        now = time.monotonic()
        if now - self._conflicts_logged_at >= _CONFLICT_LOG_EVERY:
            self._conflicts_logged_at = now
            batch, index = next((b, c[0]) for b, c in enumerate(outcome.conflicts) if c)
            log.warning(
                "%d event(s) re-used a stored id with different content; the first content is kept (e.g. id %r)",
                count,
                taken[batch].events[index]["id"],
            )

    async def _fold(self, taken: list[_Pending], outcome: AppendOutcome) -> None:
        """Fold a committed group into the projection, publish it, then acknowledge its requests."""
        try:
            await self._project(outcome.events, outcome.completed)
        except Exception:  # committed is acknowledged: never leave a request hanging on a fold bug
            log.exception("projecting committed events failed; memory may lag the log until restart")
        for n, (p, seqs) in enumerate(zip(taken, outcome.seqs, strict=True)):
            if not p.future.done():
                flagged = outcome.conflicts[n] if outcome.conflicts else None
                conflicts = [i in flagged for i in range(len(seqs))] if flagged else [False] * len(seqs)
                p.future.set_result(Appended(seqs, conflicts))

    async def _project(self, events: list[LoggedEvent], completed: dict[str, int | None]) -> None:
        removed: list[str] = []
        now = self.clock()
        for n, ev in enumerate(events):
            if n and n % _FOLD_SLICE == 0:
                await asyncio.sleep(0)  # a big group never holds the loop for one long turn
            removed += self.projection.apply(ev, completed_seq=completed.get(ev.call_id))
            self._arrived[ev.call_id] = now
        if removed:
            await self._backfill()
        if any(ev.type == "calls_purged" for ev in events):
            self.bus.drop_buffer()  # erased calls must not be replayed from memory either
        self.bus.publish(events)

    async def _backfill(self) -> None:
        """After deletions, refill the ring with the next-newest completed calls from the log."""
        room = self.projection.has_room()
        if room <= 0:
            return
        oldest = self.projection.oldest_completed_seq()
        below = oldest if oldest is not None else self.projection.last_seq + 1

        def load() -> list[LoggedEvent]:
            ids = self._wlog.completed_before(below, count=room)
            return self._wlog.events_for_calls(ids)

        for ev in await self._on_writer(load):
            self.projection.apply(ev)

    async def _tail(self) -> None:
        """Pick up rows and token changes committed by other processes."""
        marker = await self._on_writer(self._wlog.change_marker)
        if marker == self._change_marker:
            await self._flush_token_use()
            return
        self.stats.head_seq = await self._on_writer(self._wlog.max_seq)
        while True:  # in chunks: a big import by another process never lands in one loop turn
            known = self.projection.last_seq
            events, completed = await self._on_writer(
                lambda after=known: self._wlog.read_new(after, limit=_TAIL_CHUNK)  # type: ignore[misc]
            )
            if events:
                self.stats.events_appended += len(events)
                await self._project(events, completed)
            if len(events) < _TAIL_CHUNK:
                break
        self.tokens = await self._on_writer(self._load_tokens)
        self._change_marker = marker  # only once read: a failed tail is retried at the next poll

    # -- tokens -------------------------------------------------------------

    def note_token_use(self, token_id: str) -> None:
        """Remember a stored token was used; written to the log at most every few seconds."""
        if token_id != "config":
            self._token_use[token_id] = self.clock()

    async def _flush_token_use(self) -> None:
        if not self._token_use:
            return
        used, self._token_use = self._token_use, {}

        def write() -> None:
            for token_id, at in used.items():
                self._wlog.update_token(token_id, last_used_at=at)

        with contextlib.suppress(LogError):
            await self._on_writer(write)
        # our own write moves no change marker for this connection; nothing to reload

    # -- stale calls --------------------------------------------------------

    async def _stale_loop(self) -> None:
        period = max(0.05, min(60.0, self.settings.stale_after / 4, self.settings.stale_after_silence / 4))
        while True:
            await asyncio.sleep(period)
            # nodes sharing a store elect one (advisory lock): a stale call gets one lost event
            with contextlib.suppress(LogError):
                if await self._on_writer(self._wlog.try_lead):
                    await self.close_stale_calls()

    async def leads(self) -> bool:
        """Whether this node leads the nodes sharing the store (it closes stale calls, evaluates alerts)."""
        with contextlib.suppress(LogError):
            return await self._on_writer(self._wlog.try_lead)
        return False

    async def close_stale_calls(self) -> list[str]:
        """Append a ``lost`` status for active calls gone silent (see ``_stale_limit``)."""
        now = self.clock()
        active = self.projection.active
        self._arrived = {cid: at for cid, at in self._arrived.items() if cid in active}
        events: list[dict[str, Any]] = []
        for call_id, state in list(active.items()):
            limit = self._stale_limit(state)
            if now - max(state.last_ts, self._arrived.get(call_id, state.last_ts)) > limit:
                events.append(
                    {
                        "id": f"lost:{call_id}:{state.last_seq}",
                        "type": "call_status",
                        "call_id": call_id,
                        "ts": now,
                        "data": {"status": "lost", "reason": f"no event for {int(limit)} s"},
                    }
                )
        for start in range(0, len(events), _FOLD_SLICE):  # bounded batches: no long loop stall
            with contextlib.suppress(LogError, ServiceStopped):
                await self.append(events[start : start + _FOLD_SLICE])
        return [e["call_id"] for e in events]

    def _stale_limit(self, state: CallState) -> float:
        """A call that has reported turns or lines talks every few seconds: silence means it is gone.

        A start/end-only call (the Patter SDK's notify) says nothing until it ends: only age counts.
        """
        talked = state.record.get("turns") or state.record.get("transcript")
        return (
            min(self.settings.stale_after_silence, self.settings.stale_after) if talked else self.settings.stale_after
        )

    # -- reads --------------------------------------------------------------

    async def read_after(self, seq: int, *, limit: int) -> list[LoggedEvent]:
        """Events after ``seq`` from the log (SSE resume)."""
        return await self._on_reader(lambda: self._rlog.read_after(seq, limit=limit))

    async def call_from_log(self, call_id: str) -> dict[str, Any] | None:
        """A call outside the ring, folded from its events (None when unknown or deleted)."""

        def load() -> dict[str, Any] | None:
            summary = self._rlog.call_summary(call_id)
            if summary is None or summary["deleted"]:
                return None
            limits = {"max_lines": self.settings.max_call_lines, "max_bytes": self.settings.max_call_bytes}
            return fold_call(self._rlog.events_for_calls([call_id]), **limits)

        return await self._on_reader(load)

    async def deletable(self, call_ids: list[str]) -> list[str]:
        """Of these ids, the completed, not yet deleted calls (active ones are skipped)."""

        def check() -> list[str]:
            out = []
            for cid in dict.fromkeys(call_ids):
                summary = self._rlog.call_summary(cid)
                if summary and summary["completed_seq"] is not None and not summary["deleted"]:
                    out.append(cid)
            return out

        return await self._on_reader(check)

    async def delete(self, call_ids: list[str]) -> list[str]:
        """Soft-delete completed calls via a ``calls_deleted`` event; returns the ids accepted."""
        accepted = await self.deletable(call_ids)
        if accepted:
            event = {
                "id": uuid.uuid4().hex,
                "type": "calls_deleted",
                "call_id": "*",
                "ts": self.clock(),
                "data": {"call_ids": accepted},
            }
            await self.append([event])
        return accepted

    async def run_reader(self, fn: Callable[[Store], T]) -> T:
        """Run a read-only function against the reader connection off the event loop."""
        return await self._on_reader(lambda: fn(self._rlog))
