"""``patterdash migrate``: bring a log's schema up to this patterdash's version."""

from __future__ import annotations

import typer

from .common import DbOption, open_log

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the migrate command to the app."""
    app.command(
        "migrate",
        epilog="Example: patterdash migrate --db postgresql://patterdash@db.internal/patterdash",
    )(migrate_command)


def migrate_command(db: DbOption = None) -> None:
    """Apply pending forward schema migrations (serve also applies them at start); a newer schema is refused."""
    log = open_log(db)  # opening migrates, each step in its own transaction
    try:
        before, after = log.migrated_from, log.schema_version()
    finally:
        log.close()
    if before == after:
        typer.echo(f"{log.location}: schema v{after}, up to date", err=True)
    else:
        typer.echo(f"{log.location}: schema v{before} -> v{after}", err=True)
