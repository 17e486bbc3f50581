"""``patterdash import``: read call-log trees and export files, append each call atomically.

The I/O edge around ``patterdash.sources.calllog``: it walks directories, reads files,
reports malformed ones (path and reason) without stopping, and appends through
``Store.append`` (one batch per call, many calls per transaction). A running
server picks the new rows up by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from patterdash.recordings import RecordingStore, attach_recording
from patterdash.sources.calllog import (
    Malformed,
    call_log_events,
    native_event,
    parse_jsonl,
    parse_metadata,
    record_events,
    record_kind,
    validated,
)
from patterdash.store import Store

__all__ = [
    "ImportSummary",
    "Problem",
    "Skip",
    "Unit",
    "find_call_dirs",
    "import_items",
    "import_path",
    "read_call_dir",
    "scan",
    "scan_bytes",
]

_CALLS_PER_COMMIT = 200


@dataclass(frozen=True)
class Problem:
    """A malformed file, line or record: where, and why it was skipped."""

    path: str
    reason: str


@dataclass(frozen=True)
class Skip:
    """A call deliberately not imported (still in progress)."""

    path: str
    reason: str


@dataclass
class Unit:
    """One call's events, appended as one atomic batch."""

    label: str
    call_id: str
    events: list[dict[str, Any]]
    problems: list[Problem] = field(default_factory=list)


Item = Unit | Problem | Skip


@dataclass
class ImportSummary:
    """What an import did."""

    events: int = 0  # events appended
    errors: list[Problem] = field(default_factory=list)
    gained: set[str] = field(default_factory=set)  # calls that gained at least one event
    unchanged: set[str] = field(default_factory=set)  # calls already fully in the log
    held_back: int = 0  # calls still in progress, or deleted in Patter

    @property
    def imported(self) -> int:
        """Calls that gained at least one event."""
        return len(self.gained)

    @property
    def skipped(self) -> int:
        """Calls already fully in the log, or deliberately not imported."""
        return len(self.unchanged - self.gained) + self.held_back

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "imported": self.imported,
            "events": self.events,
            "skipped": self.skipped,
            "errors": [{"path": p.path, "reason": p.reason} for p in self.errors],
        }


# -- call-log directories -------------------------------------------------------


def find_call_dirs(root: Path) -> list[Path]:
    """Every call directory (one holding metadata.json) under root, oldest day first."""
    found = []
    for meta in root.rglob("metadata.json"):
        if any(part.startswith(".") for part in meta.relative_to(root).parts[:-1]):
            continue
        try:
            found.append((str(meta.parent.parent), meta.stat().st_mtime, meta.parent))
        except OSError:
            continue
    return [path for _, _, path in sorted(found)]


def _jsonl_rows(path: Path, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        return []
    chunk = parse_jsonl(path.read_bytes(), final=True)
    problems.extend(Problem(f"{path}:{line}", reason) for line, reason in chunk.bad)
    return chunk.rows


def read_call_dir(call_dir: Path, *, include_active: bool = False) -> Item:
    """One call-log directory -> its events (or why it is skipped)."""
    meta_path = call_dir / "metadata.json"
    try:
        call = parse_metadata(meta_path.read_bytes(), dir_name=call_dir.name)
    except Malformed as e:
        return Problem(str(meta_path), str(e))
    except OSError as e:
        return Problem(str(meta_path), e.strerror or str(e))
    if not call.ended and not include_active:
        return Skip(str(call_dir), "in progress (no ended_at yet)")
    problems: list[Problem] = []
    try:
        turns = _jsonl_rows(call_dir / "transcript.jsonl", problems)
        ops = _jsonl_rows(call_dir / "events.jsonl", problems)
    except OSError as e:
        return Problem(str(call_dir), e.strerror or str(e))
    return Unit(str(call_dir), call.call_id, call_log_events(call, turns, ops), problems)


# -- export files ------------------------------------------------------------------


def _load_items(raw: bytes, path: Path) -> list[Any]:
    """A JSON document (list, {"calls": [...]}, or one object) or NDJSON lines."""
    if not raw.strip():
        return []
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        chunk = parse_jsonl(raw, final=True)
        if chunk.bad and not chunk.rows:
            line, reason = chunk.bad[0]
            raise Malformed(f"neither JSON nor NDJSON (line {line}: {reason})") from None
        return [row for _, row in chunk.rows] + [Problem(f"{path}:{n}", r) for n, r in chunk.bad]
    if isinstance(doc, dict) and isinstance(doc.get("calls"), list):
        return list(doc["calls"])
    return doc if isinstance(doc, list) else [doc]


def _event_runs(path: str, natives: list[dict[str, Any]]) -> list[Unit]:
    """Native events in the file's order, one unit per run of one call's events.

    The order is the log's (an ``export --format events`` dump): calls complete, and deletions
    land, in the same order again, so the rebuilt log folds to the same projection.
    """
    units: list[Unit] = []
    for ev in natives:
        if units and units[-1].call_id == ev["call_id"]:
            units[-1].events.append(ev)
        else:
            units.append(Unit(path, ev["call_id"], [ev]))
    return units


def _export_units(path: Path, items: list[Any]) -> list[Item]:
    out: list[Item] = []
    natives: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        kind = record_kind(item)
        if isinstance(item, Problem):
            out.append(item)
        elif kind == "record":
            try:
                out.append(Unit(where, item["call_id"], record_events(item)))
            except Malformed as e:
                out.append(Problem(where, str(e)))
        elif kind == "event":
            natives.append(native_event(item))
        elif kind == "turn":
            out.append(Problem(where, "a per-turn export row; export with --per call to import"))
        else:
            out.append(Problem(where, "not a call record or event (needs call_id and ended_at)"))
    return sorted(out, key=_end_time) + list(_event_runs(str(path), natives))


def _end_time(item: Item) -> float:
    if isinstance(item, Unit) and item.events:
        return max(float(e.get("ts") or 0) for e in item.events)
    return 0.0


def _deleted_in_patter(root: Path) -> frozenset[str]:
    """Call ids the user deleted in the Patter SDK's dashboard (its log root's .deleted_call_ids.json)."""
    for where in (root, root.parent):
        try:
            ids = orjson.loads((where / ".deleted_call_ids.json").read_bytes()).get("deleted_call_ids")
        except (OSError, orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(ids, list):
            return frozenset(i for i in ids if isinstance(i, str))
    return frozenset()


def _unless_deleted(item: Item, deleted: frozenset[str]) -> Item:
    if isinstance(item, Unit) and item.call_id in deleted:
        return Skip(item.label, "deleted in the Patter dashboard")
    return item


def scan(path: Path, *, include_active: bool = False) -> tuple[int, Iterator[Item]]:
    """What PATH holds: (number of items, a lazy iterator over them)."""
    if path.is_dir():
        dirs = find_call_dirs(path)
        if not dirs:
            raise Malformed(f"no metadata.json under {path}: not a Patter call-log directory")
        deleted = _deleted_in_patter(path)
        return len(dirs), (_unless_deleted(read_call_dir(d, include_active=include_active), deleted) for d in dirs)
    if path.name == "metadata.json":
        return 1, iter([read_call_dir(path.parent, include_active=include_active)])
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Malformed(f"cannot read {path}: {e.strerror or e}") from e
    return scan_bytes(raw, label=path)


def scan_bytes(raw: bytes, *, label: Path) -> tuple[int, Iterator[Item]]:
    """What an export's bytes hold (a file, or ``import -``'s standard input)."""
    items = _export_units(label, _load_items(raw, label))
    return len(items), iter(items)


# -- appending --------------------------------------------------------------------------


def _prepare(unit: Unit, now: float, summary: ImportSummary) -> list[dict[str, Any]] | None:
    """Validate a call's events; a bad line is skipped, a bad start or end skips the call."""
    summary.errors.extend(unit.problems)
    good, bad = validated(unit.events, now=now)
    fatal = [why for ev, why in bad if ev.get("type") in ("call_start", "call_end", "call_initiated")]
    if fatal or not good:
        summary.errors.append(Problem(unit.label, fatal[0] if fatal else (bad[0][1] if bad else "no events")))
        return None
    summary.errors.extend(Problem(unit.label, why) for _, why in bad)
    return good


def _commit(log: Store, batches: list[list[dict[str, Any]]], summary: ImportSummary, known: int) -> int:
    """Append one chunk of calls in one transaction; returns the last seq seen."""
    outcome = log.append(batches, known_seq=known)
    new_ids = {ev.id for ev in outcome.events}
    for batch in batches:
        added = sum(1 for ev in batch if ev["id"] in new_ids)
        summary.events += added
        call_id = batch[0]["call_id"]
        if call_id != "*":  # a deletion is not a call
            (summary.gained if added else summary.unchanged).add(call_id)
    return max([known, *(ev.seq for ev in outcome.events)])


def import_items(
    items: Iterator[Item],
    log: Store,
    *,
    now: Callable[[], float] = time.time,
    advance: Callable[[], None] | None = None,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    recordings: RecordingStore | None = None,
) -> ImportSummary:
    """Append scanned items, one batch per call, many calls per transaction; ``advance()`` per item.

    ``redact`` (the settings' redaction at the door) rewrites each event before it is appended;
    ``recordings`` stores a call log's ``recording_path`` beside the log."""
    summary = ImportSummary()
    known = log.max_seq()
    batches: list[list[dict[str, Any]]] = []
    for item in items:
        if isinstance(item, Problem):
            summary.errors.append(item)
        elif isinstance(item, Skip):
            summary.held_back += 1
        elif (events := _prepare(item, now(), summary)) is not None:
            events = attach_recording(events, recordings, base=Path(item.label), now=now())
            batches.append([redact(e) for e in events] if redact is not None else events)
        if len(batches) >= _CALLS_PER_COMMIT:
            known = _commit(log, batches, summary, known)
            batches = []
        if advance is not None:
            advance()
    if batches:
        _commit(log, batches, summary, known)
    return summary


def import_path(
    path: Path, log: Store, *, include_active: bool = False, recordings: RecordingStore | None = None
) -> ImportSummary:
    """Import a call-log tree or an export file into the log (idempotent)."""
    _, items = scan(path, include_active=include_active)
    return import_items(items, log, recordings=recordings)
