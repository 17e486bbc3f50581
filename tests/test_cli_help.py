"""Every CLI command documents itself: --help answers 0 and shows an example."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from patterdash_cli.main import app
from tests.cli_helpers import invoke


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a sub-app (typer vendors its own click)
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_the_operator_commands_are_all_registered() -> None:
    expected = {("export",), ("replay",), ("stats",), ("demo",), ("token", "rotate"), ("token", "list")}
    assert expected | {("token", "revoke"), ("serve",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_an_example_and_the_db_option(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout, f"`patterdash {' '.join(command)} --help` has no example"
    if command not in (("demo",),):  # demo talks to a server over HTTP, never to a log file
        assert "--db" in result.stdout


def test_mypy_strict_covers_the_cli() -> None:
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and "patterdash_cli" in config["packages"]  # typings/patterdash_cli -> cli/
