"""``patterdash token rotate|list|revoke``: API tokens, stored only as hashes in the log file."""

from __future__ import annotations

import enum
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from patterdash.auth import list_tokens, revoke_token, rotate_token

from .common import DbOption, fail, log_session
from .progress import stdout_console

__all__ = ["register", "token_state"]

tokens_app = typer.Typer(
    name="token",
    help="Create, list and revoke API tokens; a running server picks changes up within 2 s.",
    no_args_is_help=True,
)


class Scope(enum.StrEnum):
    """What a token may do."""

    read = "read"
    ingest = "ingest"
    admin = "admin"


def register(app: typer.Typer) -> None:
    """Add the token command group to the app."""
    app.add_typer(tokens_app)


def _iso(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def token_state(row: dict[str, Any], *, now: float) -> str:
    """active, expiring (inside its grace period), expired or revoked."""
    if row.get("revoked_at") is not None:
        return "revoked"
    expires = row.get("expires_at")
    if expires is None:
        return "active"
    return "expiring" if expires > now else "expired"


@tokens_app.command(
    "rotate",
    epilog='Example: TOKEN="$(patterdash token rotate --scope ingest --grace 300)"',
)
def rotate_command(
    scope: Annotated[Scope, typer.Option(help="read (UI, API, export), ingest (agents) or admin (all)")] = Scope.admin,
    grace: Annotated[
        float, typer.Option(min=0, max=30 * 86400, help="Seconds the previous tokens of this scope keep working")
    ] = 0.0,
    db: DbOption = None,
) -> None:
    """Create a token (printed once, on stdout) and retire the previous ones of its scope."""
    with log_session(db, create=True, failing="cannot store the token") as log:
        secret, row = rotate_token(log, scope=scope.value, grace=grace, now=time.time())
    typer.echo(secret)
    retire = "now" if grace == 0 else f"in {grace:g} s"
    typer.echo(
        f"created {row['id']} ({scope.value}); previous {scope.value} tokens stop working {retire}. "
        "Store it now: it is not shown again.",
        err=True,
    )


@tokens_app.command("list", epilog="Example: patterdash token list --json | jq '.[] | select(.state == \"active\")'")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts")] = False,
    db: DbOption = None,
) -> None:
    """List tokens: id, scope, state, created, last used, expiry (never the secrets)."""
    with log_session(db, failing="cannot read tokens") as log:
        rows = list_tokens(log)
    now = time.time()
    rows = [{**row, "state": token_state(row, now=now)} for row in rows]
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        typer.echo("no tokens stored (patterdash token rotate creates one)", err=True)
        return
    table = Table("id", "scope", "state", "created", "last used", "expires", "revoked")
    for row in rows:
        table.add_row(
            row["id"],
            row["scope"],
            row["state"],
            *(_iso(row.get(k)) for k in ("created_at", "last_used_at", "expires_at", "revoked_at")),
        )
    stdout_console().print(table)


@tokens_app.command("revoke", epilog="Example: patterdash token revoke tok_1a2b3c4d")
def revoke_command(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id, as `token list` shows it")],
    db: DbOption = None,
) -> None:
    """Revoke a token at once; a running server refuses it within 2 s."""
    with log_session(db, failing="cannot revoke") as log:
        known = {row["id"]: row for row in list_tokens(log)}
        row = known.get(token_id)
        if row is None:
            fail(f"no token {token_id!r} (see `patterdash token list`)")
        if row.get("revoked_at") is not None:
            fail(f"token {token_id} was already revoked at {_iso(row['revoked_at'])}")
        revoke_token(log, token_id, now=time.time())
    typer.echo(f"revoked {token_id}", err=True)
