"""Checks of the log's files before SQLite opens them, and the one write-transaction helper.

SQLite silently drops committed data when a WAL header or frame is damaged, or when a WAL
sits beside an empty or missing main file: the server would start with fewer events, or
none. These checks refuse such files with one clear line and leave them exactly as found.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from patterdash.store.base import LogError

__all__ = ["Checkpointer", "LogError", "WriterLock", "check_files", "check_wal_recovered", "immediate", "wal_started"]


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE ... COMMIT); on any error ROLLBACK and re-raise.

    SQLite has already rolled back on disk full / I/O errors: rolling back again would replace
    the real cause with "no transaction is active".
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Checkpointer:
    """Checkpoints the WAL on its own connection, so no commit pays for one (the writer's
    ``wal_autocheckpoint`` is 0). Run it on a thread: it copies pages and flushes the file.

    PASSIVE never blocks the writer, but the WAL restarts only when a commit begins with every
    frame copied back, and commits landing during the copy leave some behind, forever under
    sustained writes. So a second PASSIVE pass copies what came meanwhile and, when commits
    came during that one too, a RESTART copies the rest while holding commits back (briefly:
    a few frames) and lets the next one restart the WAL.
    """

    def __init__(self, path: Path, *, bound: int = 4_000, busy_timeout_ms: int = 5000) -> None:
        self.bound = bound  # WAL frames past which a missed restart is not left to the next run
        # opened while the writer's connection is live: no pre-open checks (see sqlite._OPEN_LOGS)
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_ms / 1000
        )

    def run(self) -> tuple[int, int]:
        """One checkpoint; (frames in the WAL, frames copied back) as its last pass saw them."""
        try:
            _, seen, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            _, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames != seen or frames >= self.bound:  # commits landed during the second pass too
                _, frames, done = self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error as e:
            raise LogError(f"checkpoint failed: {e}") from e
        return int(frames), int(done)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class WriterLock:
    """A connection's lock that can leave the busy timeout at 0 for zero-wait attempts on the loop.

    ``PRAGMA busy_timeout`` costs ~8 us, a tenth of an inline commit: the zero set by
    ``without_waits`` stays across consecutive inline commits, and the next ``with lock:``
    (every other use of the connection, on a thread) puts the timeout back first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._restore: Callable[[], object] | None = None

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock as is (the zero-wait path)."""
        return self._lock.acquire(blocking)

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()

    def without_waits(self, conn: sqlite3.Connection) -> None:
        """With the lock held: make SQLITE_BUSY immediate until the next ``with lock:``."""
        if self._restore is None:
            ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
            conn.execute("PRAGMA busy_timeout = 0")
            self._restore = lambda: conn.execute(f"PRAGMA busy_timeout = {ms}")

    def __enter__(self) -> None:
        self._lock.acquire()
        restore, self._restore = self._restore, None
        if restore is not None:
            try:
                restore()
            except BaseException:
                self._restore = restore
                self._lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def wal_started(path: Path) -> bool:
    """Whether the WAL holds a header: if not, the next commit writes one and flushes it."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except OSError:
        return False


_WAL_MAGIC = (0x377F0682, 0x377F0683)


def _wal_checksum(data: bytes, *, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s0 = s1 = 0
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def check_files(path: Path) -> tuple[int, bytes]:
    """Refuse files SQLite would silently read as empty or shorter than they are.

    SQLite ignores a write-ahead log whose header is damaged, and a WAL beside an
    empty main file; either way committed events would vanish without an error.
    Returns the index of the last commit frame of the WAL's current generation
    (0 when there is none) and its salts, to compare with what SQLite recovers.
    """
    wal = Path(f"{path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    if wal_size == 0:
        if path.exists() and path.stat().st_size:
            _check_main_header(path, path.stat().st_size)
        return 0, b""
    db_size = path.stat().st_size if path.exists() else 0
    if db_size:
        # not the size: a checkpoint killed midway leaves the main file short, the WAL whole
        _check_main_header(path, None)
    if db_size == 0:
        raise LogError(
            f"event log {path} is empty or missing but {wal.name} holds data: the database file was"
            " truncated or replaced; restore it (refusing to start empty over existing data)"
        )
    with wal.open("rb") as f:
        header = f.read(32)
        if len(header) < 32:
            raise LogError(f"event log {path}: {wal.name} is truncated inside its header; restore it or move it aside")
        magic, version, page_size, _, salt1, salt2, c1, c2 = struct.unpack(">8I", header)
        if (
            magic not in _WAL_MAGIC
            or version != 3007000
            or _wal_checksum(header[:24], big_endian=bool(magic & 1)) != (c1, c2)
        ):
            raise LogError(
                f"event log {path}: {wal.name} has a damaged header, so SQLite would drop its committed"
                " transactions; restore it from a backup or move it aside to start without them"
            )
        last_commit, index = 0, 0
        while frame := f.read(16):
            if len(frame) < 16:
                break
            index += 1
            _, commit, fs1, fs2 = struct.unpack(">4I", frame)
            if commit and (fs1, fs2) == (salt1, salt2):
                last_commit = index
            f.seek(8 + page_size, 1)
    return last_commit, header[16:24]


def _check_main_header(path: Path, size: int | None) -> None:
    """Refuse a main file whose header is not SQLite's or (given its size) shorter than the header says."""
    with path.open("rb") as f:
        head = f.read(100)
    if len(head) < 100 or head[:16] != b"SQLite format 3\x00":
        raise LogError(f"event log {path} is not an SQLite database (damaged header); restore it from a backup")
    page_size = struct.unpack(">H", head[16:18])[0]
    pages = struct.unpack(">I", head[28:32])[0]
    expected = pages * (65536 if page_size == 1 else page_size)
    if size is not None and head[24:28] == head[92:96] and size < expected:  # the in-header size is valid
        raise LogError(f"event log {path} is truncated ({size} of {expected} bytes); restore it from a backup")


def check_wal_recovered(path: Path, committed_frames: int, salts: bytes) -> None:
    """Refuse when SQLite recovers fewer WAL frames than were committed (a damaged frame).

    Runs on a read-only connection: closing it never checkpoints or deletes the WAL,
    so a refused log is left exactly as found.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # runs WAL recovery
        finally:
            conn.close()
        with Path(f"{path}-shm").open("rb") as f:
            recovered = struct.unpack("=I", f.read(20)[16:20])[0]  # WalIndexHdr.mxFrame, native order
        with Path(f"{path}-wal").open("rb") as f:
            reset_meanwhile = f.read(32)[16:24] != salts  # a live writer restarted the WAL: not damage
    except (OSError, sqlite3.Error, struct.error):
        return  # the main connection reports what is wrong
    if recovered < committed_frames and not reset_meanwhile:
        raise LogError(
            f"event log {path}: {path.name}-wal is damaged at frame {recovered + 1} of {committed_frames}"
            " committed frames, so SQLite would drop later transactions; restore it from a backup"
            " or move it aside to start without them"
        )
