"""``patterdash stats``: log size, event and call counts, seq range, integrity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from patterdash.recordings import store_for

from .common import DbOption, fail, log_session, settings_from
from .progress import stdout_console

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the stats command to the app."""
    app.command(
        "stats",
        epilog="Example: patterdash stats --db /var/lib/patterdash/calls.db --json | jq .calls",
    )(stats_command)


def _iso(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _table(stats: dict[str, Any]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    lo, hi = stats["seq_range"]
    calls = stats["calls"]
    table.add_row("log", stats["path"])
    table.add_row("size", _size(stats["size_bytes"]))
    table.add_row("events", str(stats["events"]))
    for kind, count in stats["events_by_type"].items():
        table.add_row(f"  {kind}", str(count))
    table.add_row("seq range", "—" if lo is None else f"{lo} … {hi}")
    table.add_row("first event", _iso(stats["first_ts"]))
    table.add_row("last event", _iso(stats["last_ts"]))
    table.add_row("calls", f"{calls['completed']} completed, {calls['active']} active, {calls['deleted']} deleted")
    if (rec := stats.get("recordings")) is not None:
        table.add_row("recordings", f"{rec['files']} files, {_size(rec['bytes'])} in {rec['dir']}")
    integrity = stats["integrity"]
    table.add_row("integrity", f"[green]{integrity}[/]" if integrity == "ok" else f"[red]{integrity}[/]")
    return table


def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts")] = False,
    db: DbOption = None,
) -> None:
    """Show the event log's size, counts by type, calls, seq range and SQLite integrity check."""
    with log_session(db) as log:
        stats = log.stats()
    if (store := store_for(settings_from(db=db))) is not None:  # files beside the log, not in it
        files, size = store.usage()
        stats["recordings"] = {"dir": str(store.root), "files": files, "bytes": size}
    if as_json:
        typer.echo(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode())
    else:
        stdout_console().print(_table(stats))
    if stats["integrity"] != "ok":
        fail(f"integrity check failed: {stats['integrity']}")
