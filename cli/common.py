"""Shared CLI pieces: options, settings loading, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from patterdash.settings import Settings, load_settings

__all__ = ["DbOption", "fail", "settings_from"]

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite event log file [env: PATTERDASH_DB; default: ./patterdash.db]"),
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
