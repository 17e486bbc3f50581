"""``serve --watch-logs DIR``: follow a Patter call-log directory while the agent writes it.

A call appears (call_start) when its metadata.json appears, gains a turn per
complete transcript.jsonl line and a call_event per events.jsonl line, and ends
(call_end) when metadata.json gains ``ended_at``. Half-written files wait for the
next change; event ids are those of ``patterdash import``, so a restart (which
re-reads everything) or a later import appends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchfiles import Change, awatch

from patterdash.recordings import RecordingStore, attach_recording, store_for
from patterdash.sources.calllog import (
    CallLog,
    JsonlChunk,
    Malformed,
    end_event,
    op_event,
    parse_jsonl,
    parse_metadata,
    start_event,
    turn_event,
    validated,
)
from patterdash.sources.importer import find_call_dirs

__all__ = ["LogFollower", "watch_logs"]

log = logging.getLogger("patterdash.watch")
Append = Callable[[list[dict[str, Any]]], Awaitable[Any]]
_FILES = frozenset({"metadata.json", "transcript.jsonl", "events.jsonl"})
_SCAN_CONCURRENCY = 32


@dataclass
class _Tail:
    """How far one JSONL file has been read."""

    offset: int = 0
    lines: int = 0


@dataclass
class _Followed:
    """What has been appended for one call directory."""

    started: bool = False
    ended: bool = False
    transcript: _Tail = field(default_factory=_Tail)
    ops: _Tail = field(default_factory=_Tail)
    turns: list[dict[str, Any]] = field(default_factory=list)
    seen: tuple[tuple[int, int], ...] = ()  # (mtime_ns, size) of the three files at the last look
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _signature(call_dir: Path) -> tuple[tuple[int, int], ...]:
    out = []
    for name in sorted(_FILES):
        try:
            st = (call_dir / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((0, -1))
    return tuple(out)


def _read_from(path: Path, tail: _Tail, *, final: bool) -> tuple[JsonlChunk, _Tail]:
    """New complete lines of a JSONL file past ``tail`` (a shrunk file is read again)."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            start = tail if size >= tail.offset else _Tail()
            fh.seek(start.offset)
            raw = fh.read()
    except FileNotFoundError:
        return JsonlChunk(), tail
    chunk = parse_jsonl(raw, first_line=start.lines, final=final)
    return chunk, _Tail(start.offset + chunk.consumed, start.lines + chunk.lines)


@dataclass
class _Step:
    """What one look at a call directory found: events to append and where the files end."""

    call: CallLog
    events: list[dict[str, Any]]
    transcript: _Tail
    ops: _Tail
    new_turns: list[dict[str, Any]]


def _look(call_dir: Path, state: _Followed) -> _Step | None:
    """Read what is new in one call directory (blocking file I/O; runs on a thread)."""
    try:
        call = parse_metadata((call_dir / "metadata.json").read_bytes(), dir_name=call_dir.name)
    except (OSError, Malformed) as e:
        log.debug("watch: %s not readable yet: %s", call_dir, e)  # half-written: the next change retries
        return None
    events = [] if state.started else [start_event(call)]
    chunk, transcript = _read_from(call_dir / "transcript.jsonl", state.transcript, final=call.ended)
    new_turns = []
    for line, row in chunk.rows:
        ev = turn_event(call, line, row)
        events.append(ev)
        new_turns.append(ev["data"]["turn"])
    ops_chunk, ops = _read_from(call_dir / "events.jsonl", state.ops, final=call.ended)
    events += [op_event(call, line, row) for line, row in ops_chunk.rows]
    for name, bad in (("transcript.jsonl", chunk.bad), ("events.jsonl", ops_chunk.bad)):
        for line, reason in bad:
            log.warning("watch: skipped %s:%s: %s", call_dir / name, line, reason)
    if call.ended:
        events.append(end_event(call, [*state.turns, *new_turns]))
    return _Step(call, events, transcript, ops, new_turns)


class LogFollower:
    """Follows one call-log root; ``append`` receives validated events, one call per batch."""

    def __init__(
        self,
        root: Path,
        append: Append,
        *,
        now: Callable[[], float] = time.time,
        recordings: RecordingStore | None = None,
    ) -> None:
        self.root = root
        self._recordings = recordings  # where a call log's recording_path is copied when the call ends
        self._append = append
        self._now = now
        self._calls: dict[Path, _Followed] = {}
        self.appended = 0

    async def sync(self, call_dir: Path) -> None:
        """Append whatever is new in one call directory; state advances only after the commit."""
        state = self._calls.setdefault(call_dir, _Followed())
        async with state.lock:
            if state.ended:
                return
            seen = await asyncio.to_thread(_signature, call_dir)
            if seen == state.seen:
                return  # nothing changed since the last look
            step = await asyncio.to_thread(_look, call_dir, state)
            if step is None:
                state.seen = seen  # unreadable as it stands: retry when a file changes
                return
            events, problems = validated(step.events, now=self._now())
            for _, why in problems:
                log.warning("watch: %s: invalid event skipped: %s", call_dir, why)
            if step.call.ended and self._recordings is not None:
                events = await asyncio.to_thread(
                    attach_recording, events, self._recordings, base=call_dir, now=self._now()
                )
            if events:
                await self._append(events)
                self.appended += len(events)
            state.started, state.seen = True, seen
            state.ended = step.call.ended
            state.transcript, state.ops = step.transcript, step.ops
            state.turns = [] if state.ended else [*state.turns, *step.new_turns]

    async def sync_safely(self, call_dir: Path) -> None:
        """``sync`` that logs and survives a failed append (the next change or tick retries)."""
        try:
            await self.sync(call_dir)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("watch: %s not ingested yet: %s", call_dir, e)

    async def scan(self) -> None:
        """Sync every call directory under the root (start-up, and catching up after a restart)."""
        dirs = await asyncio.to_thread(find_call_dirs, self.root) if self.root.is_dir() else []
        for start in range(0, len(dirs), _SCAN_CONCURRENCY):
            await asyncio.gather(*(self.sync_safely(d) for d in dirs[start : start + _SCAN_CONCURRENCY]))

    async def resync_unfinished(self) -> None:
        """Look again at calls not yet ended (a missed or coalesced file event costs a tick, not a call)."""
        await asyncio.gather(*(self.sync_safely(d) for d, s in list(self._calls.items()) if not s.ended))

    async def run(self, *, tick: float = 2.0, debounce_ms: int = 300) -> None:
        """Follow file changes and scan what already exists, until cancelled."""
        while not self.root.is_dir():  # noqa: ASYNC110 - polling the filesystem, nothing to wait on
            await asyncio.sleep(tick)  # the agent creates its log root on its first start
        follower = asyncio.create_task(self._follow(debounce_ms))
        ticker = asyncio.create_task(self._tick(tick))
        try:
            # The watcher is set up in the follower's first step: let it run, then scan, so that
            # a file written in between is seen by one or the other (or both: ids make that harmless).
            await asyncio.sleep(0)
            await self.scan()
            log.info("watching %s (%d calls found)", self.root, len(self._calls))
            await follower
        finally:
            for task in (follower, ticker):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _follow(self, debounce_ms: int) -> None:
        async for changes in awatch(self.root, watch_filter=_relevant, debounce=debounce_ms):
            for call_dir in sorted({Path(path).parent for _, path in changes}):
                await self.sync_safely(call_dir)

    async def _tick(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            await self.resync_unfinished()


def _relevant(change: Change, path: str) -> bool:
    return change != Change.deleted and os.path.basename(path) in _FILES


def watch_logs(root: Path) -> Callable[[Any, str], Awaitable[None]]:
    """A serve() companion following ``root``; appends through the server's service."""

    async def job(service: Any, base_url: str) -> None:
        follower = LogFollower(root, service.append, now=service.clock, recordings=store_for(service.settings))
        while True:
            try:
                await follower.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the directory was removed: keep the server up, try again
                log.exception("watch: following %s failed; retrying in 5 s", root)
                await asyncio.sleep(5)

    return job
