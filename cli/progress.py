"""A progress bar on a terminal's stderr, and nothing at all when piped or captured."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["on_terminal", "progress_bar", "stdout_console"]

Advance = Callable[[], None]


def on_terminal() -> bool:
    """Whether stderr is an interactive terminal (progress bars go there, never to stdout)."""
    return sys.stderr.isatty()


def stdout_console() -> Console:
    """A console for tables on stdout; piped output is wide, so no cell is cut with an ellipsis."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 240)


def _nothing() -> None:
    return None


@contextmanager
def progress_bar(description: str, *, total: Callable[[], int] | None = None) -> Iterator[Advance]:
    """Yield an ``advance()`` callable; draws a bar on a terminal only (``total`` is asked only then)."""
    if not on_terminal():
        yield _nothing
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total() if total is not None else None)

        def advance() -> None:
            progress.advance(task)

        yield advance
