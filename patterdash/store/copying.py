"""Copy a log between stores (SQLite, PostgreSQL, events NDJSON), keeping ids, times and order.

Appends go through the destination's own idempotent append, so a second run appends nothing.
Both sides end with a count and a checksum over (id, type, call_id, ts, data) in seq order;
the destination's is taken over the source's ids only, so events it already held do not count.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from patterdash.store import LogError, open_store, redact_url

__all__ = ["CopyReport", "copy_log", "count_pages", "is_ndjson"]

_PAGE = 2_000
_KEYS = ("id", "type", "call_id", "ts", "data")


@dataclass
class CopyReport:
    """What a copy read, appended and found on both sides."""

    events: int = 0  # read from the source
    appended: int = 0  # new in the destination
    tokens: int = 0  # token rows new in the destination
    source_checksum: str = ""
    dest_events: int = 0  # source ids found in the destination
    dest_checksum: str = ""

    @property
    def matches(self) -> bool:
        """Both sides hold the same events, in the same order."""
        return self.events == self.dest_events and self.source_checksum == self.dest_checksum


class _Checksum:
    def __init__(self) -> None:
        self.count, self._h = 0, hashlib.blake2b(digest_size=16)

    def add(self, ev: dict[str, Any]) -> None:
        self.count += 1
        self._h.update(orjson.dumps([ev[k] for k in _KEYS], option=orjson.OPT_SORT_KEYS) + b"\n")

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def is_ndjson(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` names an events NDJSON file (``.ndjson`` / ``.jsonl``) rather than a store."""
    return str(url).endswith((".ndjson", ".jsonl"))


def _pages(url: str) -> Iterator[list[dict[str, Any]]]:
    """The source's events in seq order, a page at a time, as plain envelopes."""
    if is_ndjson(url):
        page: list[dict[str, Any]] = []
        try:
            with Path(url).open("rb") as f:
                for n, line in enumerate(f, 1):
                    if line.strip():
                        page.append(_envelope(orjson.loads(line), f"{url} line {n}"))
                    if len(page) >= _PAGE:
                        yield page
                        page = []
        except (OSError, orjson.JSONDecodeError) as e:
            raise LogError(f"cannot read {url}: {e}") from e
        if page:
            yield page
        return
    store = open_store(url, create=False)
    try:
        position = 0
        while events := store.read_after(position, limit=_PAGE):
            yield [{k: getattr(ev, k) for k in _KEYS} for ev in events]
            position = events[-1].seq
    finally:
        store.close()


def _envelope(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict) or any(k not in item for k in _KEYS):
        raise LogError(f"{where}: not a logged event (needs {', '.join(_KEYS)})")
    return {k: item[k] for k in _KEYS}


def count_pages(url: str) -> int:
    """How many pages of events the source holds (a progress bar's total: one step per page)."""
    return -(-_count_events(url) // _PAGE)


def _count_events(url: str) -> int:
    if is_ndjson(url):
        with Path(url).open("rb") as f:
            return sum(1 for line in f if line.strip())
    store = open_store(url, create=False)
    try:
        return store.max_seq()
    finally:
        store.close()


def copy_log(src: str, dst: str, *, advance: Callable[[], None] = lambda: None) -> CopyReport:
    """Copy every event (and, store to store, every token row) from ``src`` to ``dst``."""
    if redact_url(src) == redact_url(dst):
        raise LogError("source and destination are the same log")
    if is_ndjson(src) and not Path(src).is_file():
        raise LogError(f"no events file at {src}")
    if not is_ndjson(src):
        open_store(src, create=False).close()  # a missing or damaged source fails before DST is made
    if is_ndjson(dst):
        return _to_ndjson(src, Path(dst), advance)
    report, checksum, ids = CopyReport(), _Checksum(), set[str]()
    store = open_store(dst)
    try:
        for page in _pages(src):
            page_ids = {ev["id"] for ev in page}
            outcome = store.append([page], known_seq=store.max_seq())
            report.appended += sum(1 for ev in outcome.events if ev.id in page_ids)
            for ev in page:
                checksum.add(ev)
            ids |= page_ids
            advance()
        if not is_ndjson(src):
            report.tokens = _copy_tokens(src, store)
        report.dest_events, report.dest_checksum = _checksum_of(store, ids)
    finally:
        store.close()
    report.events, report.source_checksum = checksum.count, checksum.hexdigest()
    return report


def _copy_tokens(src: str, store: Any) -> int:
    source = open_store(src, create=False)
    try:
        rows = source.tokens()
    finally:
        source.close()
    have = {(t["id"]) for t in store.tokens()} | {t["hash"] for t in store.tokens()}
    new = [row for row in rows if row["id"] not in have and row["hash"] not in have]
    for row in new:
        store.add_token(row)
    return len(new)


def _checksum_of(store: Any, ids: set[str]) -> tuple[int, str]:
    checksum, position = _Checksum(), 0
    while events := store.read_after(position, limit=_PAGE):
        for ev in events:
            if ev.id in ids:
                checksum.add({k: getattr(ev, k) for k in _KEYS})
        position = events[-1].seq
    return checksum.count, checksum.hexdigest()


def _to_ndjson(src: str, out: Path, advance: Callable[[], None]) -> CopyReport:
    """Write the source's events as NDJSON, beside the target then renamed (never half a file)."""
    report, checksum = CopyReport(), _Checksum()
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as f:
            seq = 0
            for page in _pages(src):
                for ev in page:
                    seq += 1
                    f.write(orjson.dumps({"seq": seq, **ev}) + b"\n")
                    checksum.add(ev)
                advance()
        partial.replace(out)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise LogError(f"cannot write {out}: {e.strerror or e}") from e
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    report.events = report.appended = checksum.count
    report.source_checksum = checksum.hexdigest()
    written = _Checksum()
    for page in _pages(str(out)):
        for ev in page:
            written.add(ev)
    report.dest_events, report.dest_checksum = written.count, written.hexdigest()
    return report
