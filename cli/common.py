"""Shared CLI pieces: options, settings loading, one-line errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from patterdash.settings import Settings, load_settings
from patterdash.store import LogError, Store, open_store, sqlite_path

__all__ = ["DbOption", "Startup", "fail", "log_session", "open_log", "removed_if_start_fails", "settings_from"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Event log: SQLite file or postgresql://... URL [env: PATTERDASH_DB; default: ./patterdash.db]",
    ),
]


def fail(message: str) -> NoReturn:
    """Print one clear line to stderr and exit 1."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def settings_from(**flags: Any) -> Settings:
    """Flags over PATTERDASH_* env over .env; bad values end in one line, exit 1."""
    try:
        return load_settings(**flags)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"invalid setting {where}: {str(first['msg']).removeprefix('Value error, ')}")


def open_log(db: str | None, *, create: bool = False) -> Store:
    """The settings' log (``--db`` over PATTERDASH_DB); reads never create an empty SQLite log.

    Creating one needs its directory to exist: a typo in ``--db`` is an error, not a silent ``mkdir -p``.
    """
    settings = settings_from(db=db)
    if create:
        require_directory(settings.db)
    try:
        return open_store(settings.db, create=create)
    except LogError as e:
        fail(str(e) if create else f"{e} (pass --db or set PATTERDASH_DB)")


@contextlib.contextmanager
def log_session(db: str | None, *, create: bool = False, failing: str = "cannot read the log") -> Iterator[Store]:
    """The log, open for one command: a storage error ends in one line (``failing: reason``); always closed."""
    log = open_log(db, create=create)
    try:
        yield log
    except LogError as e:
        fail(f"{failing}: {e}")
    finally:
        log.close()


def require_directory(db: str) -> None:
    """A new SQLite log goes into an existing directory; one line and exit 1 otherwise."""
    path = _sqlite_file(db)
    if path is not None and not path.exists() and not path.parent.is_dir():
        fail(f"--db {path}: directory {path.parent} does not exist (create it first)")


def _sqlite_file(db: str) -> Path | None:
    try:
        return sqlite_path(db)
    except LogError as e:
        fail(str(e))


class Startup:
    """Whether a server got as far as listening (from then on its log holds data: never removed)."""

    def __init__(self) -> None:
        self.started = False

    def announce(self, line: str) -> None:
        """Print a start-up line (flushed: a supervisor reading a pipe sees it at once); the server is up."""
        self.started = True
        print(line, flush=True)


@contextlib.contextmanager
def removed_if_start_fails(db: str) -> Iterator[Startup]:
    """A ``serve`` that fails to start leaves no empty log behind (a log that existed is never touched)."""
    require_directory(db)
    path = _sqlite_file(db)
    # Fresh means none of the log's files exist: a WAL kept beside a deleted main file holds
    # committed events, and removing it on a refused start would destroy them.
    files = [] if path is None else [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    fresh = bool(files) and not any(f.exists() for f in files)
    startup = Startup()
    try:
        yield startup
    except (typer.Exit, Exception):
        if fresh and not startup.started:
            for leftover in files:
                leftover.unlink(missing_ok=True)
        raise
