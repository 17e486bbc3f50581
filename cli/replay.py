"""``patterdash replay CALL_ID``: a call's life as a timeline, its raw events, or re-sent live."""

from __future__ import annotations

import asyncio
import difflib
import time
from collections.abc import Callable, Sequence
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.text import Text

from patterdash.core.events import LoggedEvent
from patterdash.core.replay import Frame, new_call_id, restamp, timeline

from .common import DbOption, fail, log_session, settings_from
from .demo import SendError, send_timed

__all__ = ["play", "register"]


def register(app: typer.Typer) -> None:
    """Add the replay command to the app."""
    app.command(
        "replay",
        epilog=(
            "Examples: patterdash replay CA1234 --speed 4 | "
            "patterdash replay CA1234 --json > call.ndjson | "
            "patterdash replay CA1234 --into http://127.0.0.1:8000 --speed 0"
        ),
    )(replay_command)


def _load(call_id: str, db: str | None) -> list[LoggedEvent]:
    with log_session(db) as log:
        events = log.events_for_calls([call_id])
        if not events:
            close = difflib.get_close_matches(call_id, log.call_ids(), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            fail(f"no call {call_id!r} in {log.location}{hint}")
        return events


def play(
    frames: Sequence[Frame],
    *,
    speed: float,
    max_gap: float,
    show: Callable[[Frame], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Show each frame when its offset comes, at ``speed`` (0: all at once); waits capped at ``max_gap``."""
    previous = frames[0].offset if frames else 0.0
    for frame in frames:
        wait = (frame.offset - previous) / speed if speed > 0 else 0.0
        if max_gap > 0:
            wait = min(wait, max_gap)
        if wait > 0:
            sleep(wait)
        previous = frame.offset
        show(frame)


def _printer(console: Console) -> Callable[[Frame], None]:
    def show(frame: Frame) -> None:
        for text, style in frame.lines:
            console.print(Text(text, style=style), soft_wrap=True)

    return show


def replay_command(
    call_id: Annotated[str, typer.Argument(metavar="CALL_ID", help="The call to replay")],
    speed: Annotated[
        float, typer.Option(min=0, max=10_000, help="1 = real time, 4 = four times faster, 0 = at once")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw events (NDJSON envelopes) at once")] = False,
    into: Annotated[
        str | None, typer.Option("--into", help="Re-send the call to this server under a new call id")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Ingest token for --into [env: PATTERDASH_TOKEN]", show_default=False)
    ] = None,
    max_gap: Annotated[
        float, typer.Option(min=0, help="Longest wait between two events, in seconds (0: no cap)")
    ] = 10.0,
    db: DbOption = None,
) -> None:
    """Replay a call from the log: timeline with transcript, latency bars and running cost."""
    events = _load(call_id, db)
    if as_json:
        for ev in events:
            typer.echo(orjson.dumps(ev.envelope()).decode())
        return
    if into is not None:
        _send(events, into=into, token=token, speed=speed)
        return
    console = Console(highlight=False)
    first = events[0]
    console.print(Text(f"call {call_id} · {len(events)} events · seq {first.seq}…{events[-1].seq}", style="bold"))
    play(timeline(events), speed=speed, max_gap=max_gap, show=_printer(console))


def _send(events: list[LoggedEvent], *, into: str, token: str | None, speed: float) -> None:
    settings = settings_from(token=token)
    secret = settings.token.get_secret_value() if settings.token else None
    copy_id = new_call_id(events[0].call_id)
    copies = restamp(events, call_id=copy_id, now=time.time(), speed=speed)
    typer.echo(f"re-sending {len(copies)} events to {into} as {copy_id}", err=True)
    try:
        sent = asyncio.run(send_timed(copies, base_url=into, token=secret))
    except SendError as e:
        fail(str(e))
    typer.echo(copy_id)
    typer.echo(f"sent {sent} events", err=True)
