"""Storage: the contract (``Store``) and ``open_store(url)``; the only place that runs SQL.

A URL picks the backend: a path or ``sqlite:///path`` (``sqlite:////abs/path``) opens the
embedded SQLite log; ``postgresql://user@host/db`` opens the shared PostgreSQL log that several
nodes can serve at once. Callers see only ``Store``; no module outside this package names a backend.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from patterdash.store.base import (
    AppendOutcome,
    CallsIndex,
    EventStore,
    LogError,
    Rollups,
    SchemaTooNew,
    Store,
    StoreAdmin,
    StoreUnavailable,
    TokenStore,
    content_hash,
)

__all__ = [
    "AppendOutcome",
    "CallsIndex",
    "EventStore",
    "LogError",
    "Rollups",
    "SchemaTooNew",
    "Store",
    "StoreAdmin",
    "StoreUnavailable",
    "TokenStore",
    "content_hash",
    "is_postgres",
    "open_store",
    "redact_url",
    "sqlite_path",
]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_POSTGRES = ("postgresql", "postgres")


def _scheme(url: str) -> str | None:
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else None


def is_postgres(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` names a PostgreSQL store."""
    return _scheme(str(url)) in _POSTGRES


def sqlite_path(url: str | os.PathLike[str]) -> Path | None:
    """The file behind a SQLite URL or plain path; None for another backend."""
    text = str(url)
    scheme = _scheme(text)
    if scheme is None:
        return Path(text)
    if scheme == "sqlite":
        rest = text[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise LogError(f"bad SQLite URL {text!r}: use sqlite:///relative.db or sqlite:////absolute/path.db")
        return Path(rest[1:])
    return None


def redact_url(url: str | os.PathLike[str]) -> str:
    """The URL with any password replaced, fit for logs and error lines."""
    text = str(url)
    if _scheme(text) is None:
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}"))


def open_store(
    url: str | os.PathLike[str],
    *,
    create: bool = True,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
) -> Store:
    """Open the store a URL names, applying forward migrations; ``create=False`` refuses a
    missing SQLite file (reads never create an empty log). Raises ``LogError``."""
    path = sqlite_path(url)
    if path is not None:
        from patterdash.store.sqlite import EventLog

        return EventLog(path, synchronous=synchronous, create=create)
    if is_postgres(url):
        from patterdash.store.postgres import PostgresStore

        return PostgresStore(str(url))
    raise LogError(f"unknown store {redact_url(url)!r}: give a file path, sqlite:///path or postgresql://...")
