"""Retention and erasure: purge calls in bounded batches, announcing each batch with ``calls_purged``.

The event goes first: every server on the log drops the calls from memory as it reads it; a
crash between the event and the purge leaves the calls in the log, and the next run finishes
(the event id derives from the ids, so it is not appended twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any

from patterdash.recordings import RecordingStore, recordings_dir
from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.store import LogError, Store

__all__ = ["RetentionJob", "purge_batch", "purge_before", "purge_calls_now", "purged_event", "recording_store"]

log = logging.getLogger("patterdash.retention")
BATCH = 200  # calls per transaction: a batch holds the writer only briefly, so ingest never stalls


def purged_event(call_ids: list[str], *, reason: str, now: float) -> dict[str, Any]:
    """The ``calls_purged`` event for these calls (ids only; its id derives from them)."""
    ids = sorted(call_ids)
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
    return {
        "id": f"purged:{digest}",
        "type": "calls_purged",
        "call_id": "*",
        "ts": now,
        "data": {"call_ids": ids, "reason": reason},
    }


def purge_calls_now(
    store: Store, call_ids: list[str], *, reason: str, now: float, recordings: RecordingStore | None = None
) -> dict[str, int]:
    """Announce then purge these calls, their recording files too; the counts removed."""
    store.append([[purged_event(call_ids, reason=reason, now=now)]], known_seq=store.max_seq())
    removed = store.purge_calls(call_ids)
    files = [f for c in call_ids for f in (recordings.files_of(c) if recordings else [])]
    for f in files:
        f.unlink(missing_ok=True)
    return {**removed, "recordings": len(files)}


def purge_batch(
    store: Store, *, before: float, now: float, reason: str, recordings: RecordingStore | None = None
) -> tuple[int, int]:
    """Purge up to BATCH calls that ended before ``before``; (calls, events) removed."""
    ids = store.completed_before_ts(before, limit=BATCH)
    if not ids:
        return 0, 0
    removed = purge_calls_now(store, ids, reason=reason, now=now, recordings=recordings)
    return len(ids), removed["events"]


def purge_before(
    store: Store, *, before: float, now: float, reason: str, recordings: RecordingStore | None = None
) -> tuple[int, int]:
    """Purge every call that ended before ``before``, batch after batch; (calls, events) removed."""
    calls = events = 0
    while True:
        n, e = purge_batch(store, before=before, now=now, reason=reason, recordings=recordings)
        calls, events = calls + n, events + e
        if n < BATCH:
            return calls, events


def recording_store(settings: Settings) -> RecordingStore | None:
    """Where the settings keep recordings, to delete purged calls' files (None: nowhere)."""
    root = recordings_dir(settings)
    return RecordingStore(root, max_bytes=0) if root is not None else None


class RetentionJob:
    """``--retain-days``: on the leading node, purge calls older than the retention, one batch at a time."""

    def __init__(self, service: Service, *, days: float, every: float) -> None:
        self.service = service
        self.days = days
        self.every = every
        self.purged = 0
        self.recordings = recording_store(service.settings)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background until stopped."""
        self._task = asyncio.create_task(self._loop(), name="patterdash-retention")

    async def stop(self) -> None:
        """Stop between two batches."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(LogError):
                if await self.service.leads():
                    await self.run_once()
            await asyncio.sleep(self.every)

    async def run_once(self) -> int:
        """Purge every expired call, a batch per step, yielding between batches; how many went."""
        total = 0
        while True:
            now = self.service.clock()
            before = now - self.days * 86400

            def step(store: Store, before: float = before, now: float = now) -> tuple[int, int]:
                reason = f"retention ({self.days:g} days)"
                return purge_batch(store, before=before, now=now, reason=reason, recordings=self.recordings)

            calls, events = await self.service.run_reader(step)
            total += calls
            if calls:
                log.info("retention: purged %d call(s), %d event(s)", calls, events)
            if calls < BATCH:
                self.purged += total
                return total
