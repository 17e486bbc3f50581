"""``patterdash rollups rebuild``: recompute the history rollups from the log."""

from __future__ import annotations

import time

import typer

from patterdash.store import LogError

from .common import DbOption, fail, open_log
from .progress import progress_bar

__all__ = ["register"]

rollups_app = typer.Typer(
    name="rollups",
    help="History rollups: derived from the log, kept by every append, rebuilt on demand.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the rollups command group to the app."""
    app.add_typer(rollups_app)


@rollups_app.command(
    "rebuild",
    epilog="Example: patterdash rollups rebuild --db /var/lib/patterdash/calls.db",
)
def rebuild_command(db: DbOption = None) -> None:
    """Recompute every call's facts and the rollups from the log in one transaction (stop a busy server first)."""
    log = open_log(db)
    started = time.perf_counter()
    try:
        with progress_bar("rebuilding rollups", total=log.completed_count) as advance:
            count = log.rebuild_rollups(on_call=advance)
    except LogError as e:
        fail(str(e))
    finally:
        log.close()
    typer.echo(f"{log.location}: rollups rebuilt from {count} calls in {time.perf_counter() - started:.1f} s", err=True)
