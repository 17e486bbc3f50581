"""Where the writer's group commits run: inline on the event loop when that cannot stall it.

A thread hand-off costs ~80 us, more than a small commit's own Python work. So a small group
(at most ``INLINE_MAX_EVENTS`` events) commits on the loop when the store allows it
(``InlineAppends``: SQLite with ``synchronous=NORMAL``, whose commits write the WAL without
flushing it) and nothing can make it wait: no checkpoint runs, the WAL will not restart (that
flushes its header), and the store's zero-wait attempt (its lock, others' write lock, others'
new rows) does not decline. Everything else commits on the writer thread, as before.
Checkpoints run on a thread of their own (the store's ``Checkpoints``), never inside a commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from patterdash.store import AppendOutcome, Store
from patterdash.store.base import Checkpoints, InlineAppends

__all__ = ["CHECKPOINT_PAGES", "INLINE_MAX_EVENTS", "CommitPath"]

log = logging.getLogger("patterdash.service")

# A group this small commits in well under a millisecond (bench/micro.py): the longest the loop stalls.
INLINE_MAX_EVENTS = 16
# Estimated WAL pages between two checkpoints, as SQLite's automatic checkpoint (1,000 pages).
CHECKPOINT_PAGES = 1_000
# What one commit writes besides its rows, in pages (index leaves, the calls summary, rollups),
# and the row bytes per page: calibrated against the checkpoint's own frame count.
_PAGES_PER_COMMIT = 6
_ROW_BYTES_PER_PAGE = 3_000


class CommitPath:
    """Runs each group commit inline or on the writer thread, and checkpoints off both."""

    def __init__(self, store: Store, writer: ThreadPoolExecutor) -> None:
        self.store = store
        self._writer = writer
        self._inline: InlineAppends | None = None
        self._checkpointer: Checkpoints | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._running: Future[tuple[int, int]] | None = None
        self._restart_due = True  # the next commit may restart the WAL (start-up, after a checkpoint)
        self._pages = 0  # estimated WAL pages written since the last checkpoint started
        self.inline_commits = 0
        self.thread_commits = 0
        self.checkpoints = 0
        self.last_checkpoint: tuple[int, int] | None = None  # (WAL frames, frames copied back)

    async def start(self, *, synchronous: str) -> None:
        """Take over checkpoints and allow inline commits, where the store and ``synchronous`` permit."""
        store = self.store
        if synchronous != "NORMAL" or not isinstance(store, InlineAppends):  # FULL flushes every commit
            return
        self._checkpointer = await asyncio.get_running_loop().run_in_executor(self._writer, store.checkpointer)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="patterdash-checkpoint")
        self._inline = store

    async def stop(self) -> None:
        """Let a running checkpoint finish, then close the checkpointer's connection (before the log's)."""
        if self._pool is None or self._checkpointer is None:
            return
        self._inline = None
        pool, checkpointer = self._pool, self._checkpointer
        await asyncio.get_running_loop().run_in_executor(pool, checkpointer.close)
        await asyncio.to_thread(pool.shutdown, wait=True)

    async def append(self, batches: Sequence[Sequence[dict[str, Any]]], known_seq: int) -> AppendOutcome:
        """One group commit: inline when it cannot wait, else on the writer thread."""
        outcome = self._append_inline(batches, known_seq)
        if outcome is None:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._writer, lambda: self.store.append(batches, known_seq=known_seq))
            self.thread_commits += 1
            self._restart_due = self._running is not None  # restarted now, unless a checkpoint runs
        else:
            self.inline_commits += 1
        self._note_written(outcome)
        return outcome

    def _append_inline(self, batches: Sequence[Sequence[dict[str, Any]]], known_seq: int) -> AppendOutcome | None:
        if self._inline is None or self._restart_due or self._running is not None:
            return None
        if sum(len(b) for b in batches) > INLINE_MAX_EVENTS:
            return None
        return self._inline.try_append(batches, known_seq=known_seq)

    def _note_written(self, outcome: AppendOutcome) -> None:
        """Count the WAL pages this commit wrote (estimated); start a checkpoint past the threshold."""
        if self._checkpointer is None:
            return
        rows = sum(len(ev.data_json or b"") for ev in outcome.events)
        self._pages += _PAGES_PER_COMMIT + rows // _ROW_BYTES_PER_PAGE
        if self._pages >= CHECKPOINT_PAGES and self._running is None:
            self.checkpoint_soon()

    def checkpoint_soon(self) -> None:
        """Start a checkpoint on its thread (no-op while one runs or without a checkpointer)."""
        if self._pool is None or self._checkpointer is None or self._running is not None:
            return
        self._pages = 0
        self._running = self._pool.submit(self._checkpointer.run)
        loop = asyncio.get_running_loop()
        self._running.add_done_callback(lambda f: loop.call_soon_threadsafe(self._checkpointed, f))

    def _checkpointed(self, done: Future[tuple[int, int]]) -> None:
        self._running = None
        self._restart_due = True
        try:
            self.last_checkpoint = done.result()
            self.checkpoints += 1
        except Exception as e:  # LogError: disk full, I/O error; the next threshold retries
            log.warning("WAL checkpoint failed: %s", e)
