"""Fan-out of appended events to SSE subscribers; publishing never blocks.

Each event is encoded once into an SSE frame; every subscriber writes the same
bytes. Frames sit in one shared, bounded buffer that subscribers read at their
own pace by seq; there are no per-subscriber queues to fill up.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable

import orjson

from patterdash.core.events import LoggedEvent

__all__ = ["Bus", "encode_frame"]


def encode_frame(ev: LoggedEvent) -> bytes:
    """One SSE frame: ``id: seq``, ``event: type``, ``data:`` the Patter-shaped payload."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (ev.seq, ev.type.encode(), _payload(ev))


def _payload(ev: LoggedEvent) -> bytes:
    """``{"call_id", **data, "seq", "ts"}`` as JSON; ``calls_deleted`` has no call_id.

    The data's JSON as the log stored it is spliced in rather than encoded again (a
    Patter call_end is ~9 KB): the same bytes as encoding the dict, tested so.
    """
    data, stored = ev.data, ev.data_json
    own_call_id = ev.type not in ("calls_deleted", "calls_purged")
    if stored is None or "seq" in data or "ts" in data or "call_id" in data:  # keys the envelope overrides
        payload = {"call_id": ev.call_id, **data} if own_call_id else dict(data)
        return orjson.dumps({**payload, "seq": ev.seq, "ts": ev.ts})
    head = b'{"call_id":' + orjson.dumps(ev.call_id) + b"," if own_call_id else b"{"
    body = stored[1:-1] + b"," if len(stored) > 2 else b""
    return b'%s%s"seq":%d,"ts":%s}' % (head, body, ev.seq, orjson.dumps(ev.ts))


class Bus:
    """A bounded buffer of recent frames plus a wake-up signal for subscribers."""

    def __init__(self, *, max_frames: int = 8192, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._frames: deque[tuple[int, bytes]] = deque()
        self._bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._changed = asyncio.Event()
        self.head = 0  # seq of the newest published event
        self.subscribers = 0
        self.closed = False

    def reset(self, head: int) -> None:
        """Start publishing after ``head`` (the log's last seq at start-up)."""
        self.head = head

    def publish(self, events: Iterable[LoggedEvent]) -> None:
        """Encode and buffer events (seq order), then wake every waiting subscriber."""
        added = False
        for ev in events:
            if ev.seq <= self.head:
                continue
            frame = encode_frame(ev)
            self._frames.append((ev.seq, frame))
            self._bytes += len(frame)
            self.head = ev.seq
            added = True
        while self._frames and (len(self._frames) > self._max_frames or self._bytes > self._max_bytes):
            self._bytes -= len(self._frames.popleft()[1])
        if added:
            self._wake()

    def frames_after(self, seq: int) -> list[tuple[int, bytes]] | None:
        """Buffered frames after ``seq``; None when some of them already left the buffer."""
        if seq >= self.head:
            return []
        if not self._frames or self._frames[0][0] > seq + 1:
            return None
        start = seq + 1 - self._frames[0][0]
        if 0 <= start < len(self._frames) and self._frames[start][0] == seq + 1:
            # Take only the frames wanted, from the newest end: a live subscriber is a frame or two
            # behind, and this runs for every subscriber on every publish (copying the whole buffer
            # here cost O(buffer) per subscriber per event).
            wanted = len(self._frames) - start
            return list(itertools.islice(reversed(self._frames), wanted))[::-1]
        return [f for f in self._frames if f[0] > seq]

    def drop_buffer(self) -> None:
        """Forget every buffered frame (calls were erased): a subscriber behind resumes from the log."""
        self._frames.clear()
        self._bytes = 0

    async def wait(self, seq: int) -> None:
        """Return once an event after ``seq`` is published or the bus closes."""
        while self.head <= seq and not self.closed:
            await self._changed.wait()

    def close(self) -> None:
        """Wake every subscriber for shutdown."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        old, self._changed = self._changed, asyncio.Event()
        old.set()
