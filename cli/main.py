"""The Typer app: one module per command group, registered here."""

from __future__ import annotations

from typing import Annotated

import typer

from patterdash import __version__
from patterdash_cli import (
    alerts,
    copy,
    demo,
    export,
    forget,
    import_,
    migrate,
    purge,
    replay,
    rollups,
    serve,
    stats,
    tokens,
)

app = typer.Typer(
    name="patterdash",
    help="A durable call-monitoring dashboard for voice-AI phone agents.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold tokens
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"patterdash {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit"),
    ] = False,
) -> None:
    """patterdash: every command takes --db and reads PATTERDASH_* settings and .env."""


serve.register(app)
export.register(app)
replay.register(app)
tokens.register(app)
stats.register(app)
demo.register(app)
import_.register(app)
migrate.register(app)
copy.register(app)
alerts.register(app)
rollups.register(app)
forget.register(app)
purge.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
