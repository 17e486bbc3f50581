"""Call recordings kept as files beside the log (never inside event rows), referenced by ``recording_stored``.

The directory is ``PATTERDASH_RECORDINGS_DIR``, else ``<db file>.recordings/`` next to a SQLite log
(a PostgreSQL log needs the setting: its nodes must share the directory). A file is named from the
call and the content's hash and written whole (temp file, fsync, rename), so a re-sent upload
lands on the same name and a crash never leaves half a recording under a real name.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patterdash.settings import Settings
from patterdash.sources.otlp_turns import event_id

__all__ = ["RecordingStore", "TooLarge", "attach_recording", "recordings_dir", "store_for", "stored_event"]

log = logging.getLogger("patterdash.recordings")

_EXTENSIONS = {"audio/ogg": "ogg", "audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/webm": "webm"}
_SAFE_NAME = re.compile(r"^[0-9a-f]{24}-[0-9a-f]{16}\.(ogg|wav|mp3|webm|bin)$")


class TooLarge(ValueError):
    """A recording over the configured size cap."""


def recordings_dir(settings: Settings) -> Path | None:
    """Where recordings live: the setting, else beside a SQLite log; None when neither applies."""
    if settings.recordings_dir is not None:
        return settings.recordings_dir
    db = str(settings.db)
    if db.startswith("sqlite:///"):
        db = db[len("sqlite:///") :]
    elif "://" in db:
        return None
    return Path(f"{db}.recordings")


@dataclass(frozen=True)
class RecordingStore:
    """Writes and finds recording files in one directory."""

    root: Path
    max_bytes: int

    def save(self, call_id: str, audio: bytes, *, content_type: str) -> dict[str, Any]:
        """Store ``audio`` for a call; the ``recording_stored`` data describing it. TooLarge past the cap."""
        if len(audio) > self.max_bytes:
            raise TooLarge(f"a recording of {len(audio)} bytes is over the {self.max_bytes}-byte cap")
        digest = hashlib.sha256(audio).hexdigest()
        ext = _EXTENSIONS.get(content_type.split(";")[0].strip().lower(), "bin")
        name = f"{hashlib.sha256(call_id.encode()).hexdigest()[:24]}-{digest[:16]}.{ext}"
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        if not target.exists():
            partial = self.root / f".{name}.{os.getpid()}.partial"
            with open(partial, "wb") as out:
                out.write(audio)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        return {"file": name, "content_type": content_type, "bytes": len(audio), "sha256": digest}

    def path(self, name: Any) -> Path | None:
        """The file a ``recording_stored`` event names, if it is a name this store writes and it exists."""
        if not isinstance(name, str) or not _SAFE_NAME.match(name):
            return None  # never a path from the log into the file system beyond our own names
        target = self.root / name
        return target if target.is_file() else None

    def files_of(self, call_id: str) -> list[Path]:
        """Every recording file of one call (``patterdash forget`` deletes them)."""
        if not self.root.is_dir():
            return []
        prefix = hashlib.sha256(call_id.encode()).hexdigest()[:24] + "-"
        return [p for p in self.root.iterdir() if p.name.startswith(prefix) and _SAFE_NAME.match(p.name)]

    def usage(self) -> tuple[int, int]:
        """(files, bytes) held; for ``patterdash stats``."""
        if not self.root.is_dir():
            return 0, 0
        files = [p for p in self.root.iterdir() if _SAFE_NAME.match(p.name)]
        return len(files), sum(p.stat().st_size for p in files)


def stored_event(call_id: str, data: dict[str, Any], *, ts: float) -> dict[str, Any]:
    """The ``recording_stored`` event for a saved file; its id is the content's, so a re-send adds nothing."""
    return {
        "id": event_id("recording", call_id, data["sha256"][:32]),
        "type": "recording_stored",
        "call_id": call_id,
        "ts": ts,
        "data": data,
    }


def store_for(settings: Settings) -> RecordingStore | None:
    """The recording store the settings give, None when no directory applies (PostgreSQL, unset)."""
    root = recordings_dir(settings)
    return RecordingStore(root, settings.max_recording_bytes) if root is not None else None


def attach_recording(
    events: list[dict[str, Any]], store: RecordingStore | None, *, base: Path, now: float
) -> list[dict[str, Any]]:
    """A Patter call log's ``recording_path`` (on its call_end): store the file, add ``recording_stored``.

    A relative path is taken from the call directory ``base``. A missing, unreadable or oversized
    file is logged and skipped: the call itself is still imported.
    """
    out = list(events)
    for ev in events:
        raw = ev.get("data", {}).get("recording_path") if ev.get("type") == "call_end" else None
        if not isinstance(raw, str) or not raw or store is None:
            continue
        path = Path(raw) if Path(raw).is_absolute() else base / raw
        try:
            audio = path.read_bytes() if path.stat().st_size <= store.max_bytes else None
            if audio is None:
                raise TooLarge(f"over the {store.max_bytes}-byte cap")
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            data = store.save(ev["call_id"], audio, content_type=ctype)
        except (OSError, TooLarge) as e:
            log.warning("recording of call %s not stored (%s): %s", ev["call_id"], path.name, e)
            continue
        data.update(source="patter-call-log", started_at=ev.get("data", {}).get("started_at"))
        out.append(stored_event(ev["call_id"], data, ts=now))
    return out
