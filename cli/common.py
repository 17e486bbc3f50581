"""Shared CLI pieces: options, settings loading, one-line errors."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from patterdash.settings import Settings, load_settings
from patterdash.store import LogError, Store, open_store

__all__ = ["DbOption", "fail", "open_log", "settings_from"]

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
        fail(f"invalid setting {where}: {first['msg']}")


def open_log(db: str | None, *, create: bool = False) -> Store:
    """The settings' log (``--db`` over PATTERDASH_DB); reads never create an empty SQLite log."""
    settings = settings_from(db=db)
    try:
        return open_store(settings.db, create=create)
    except LogError as e:
        fail(str(e) if create else f"{e} (pass --db or set PATTERDASH_DB)")
