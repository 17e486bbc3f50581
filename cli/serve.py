"""``patterdash serve``."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from patterdash.ops.rules import RulesError, load_rules
from patterdash.settings import Settings
from patterdash.sources.watch import watch_logs
from patterdash.store import LogError, StoreUnavailable, open_store, redact_url
from patterdash.web.server import Companion, configure_logging, event_loop_factory, is_loopback, serve

from .common import DbOption, fail, removed_if_start_fails, settings_from
from .demo import demo_companion

__all__ = ["register"]

log = logging.getLogger("patterdash")


def register(app: typer.Typer) -> None:
    """Add the serve command to the app."""
    app.command(
        "serve",
        epilog='Example: patterdash serve --port 8000 --token "$(openssl rand -hex 24)"',
    )(serve_command)


def _stored_tokens(settings: Settings, *, wait: bool) -> list[dict[str, Any]]:
    """The log's token rows. An unreachable store is retried with backoff, one line per try."""
    where, delay = redact_url(settings.db), 1.0
    while True:
        try:
            store = open_store(settings.db)
            try:
                return store.tokens()
            finally:
                store.close()
        except StoreUnavailable as e:
            if not wait:
                fail(f"{e} (--no-wait-for-store: not retrying)")
            typer.secho(f"waiting for the event log: {e}; retrying in {delay:g} s", err=True)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        except LogError as e:
            fail(str(e) if where in str(e) else f"cannot read event log {where}: {e}")


def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to bind [env: PATTERDASH_HOST; default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: PATTERDASH_PORT; default 8000]")] = None,
    db: DbOption = None,
    token: Annotated[
        str | None,
        typer.Option(help="Admin token required by every route [env: PATTERDASH_TOKEN]", show_default=False),
    ] = None,
    ring_size: Annotated[int | None, typer.Option(help="Completed calls held in memory [default 500]")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Allow a non-loopback bind without any token")] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(help="A Host name to answer besides loopback ones; repeatable [env: PATTERDASH_ALLOWED_HOSTS]"),
    ] = None,
    max_active_calls: Annotated[
        int | None, typer.Option(help="Calls in progress at once; a new one beyond is refused (429) [default 10000]")
    ] = None,
    max_connections: Annotated[
        int | None, typer.Option(help="Open connections; beyond, slow or idle ones are shed [default 1000]")
    ] = None,
    loopback_ingest: Annotated[
        bool | None,
        typer.Option(
            "--loopback-ingest/--no-loopback-ingest",
            help="With tokens set, accept token-less Patter posts from this machine "
            "[env: PATTERDASH_LOOPBACK_INGEST; default on]",
            show_default=False,
        ),
    ] = None,
    stale_after_silence: Annotated[
        float | None,
        typer.Option(help="Seconds a call that reported turns may stay silent before it is lost [default 600]"),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request (by default only errors and refusals)")
    ] = False,
    wait_for_store: Annotated[
        bool,
        typer.Option(
            "--wait-for-store/--no-wait-for-store",
            help="When the log's server (PostgreSQL) is unreachable at start, retry with backoff, or exit 1",
        ),
    ] = True,
    demo: Annotated[bool, typer.Option("--demo", help="Stream synthetic calls: a live dashboard at once")] = False,
    alerts: Annotated[
        Path | None,
        typer.Option("--alerts", help="Alert rules file (TOML), reloaded on change [env: PATTERDASH_ALERTS]"),
    ] = None,
    drop_pii_attributes: Annotated[
        bool,
        typer.Option(
            "--drop-pii-attributes",
            help="Never store OTLP/LiveKit span attributes whose key contains .pii. [PATTERDASH_DROP_PII_ATTRIBUTES]",
        ),
    ] = False,
    redact_numbers: Annotated[
        bool,
        typer.Option("--redact-numbers", help="Store only the last 4 digits of numbers [PATTERDASH_REDACT_NUMBERS]"),
    ] = False,
    redact_patterns: Annotated[
        bool,
        typer.Option(
            "--redact-patterns", help="Redact cards, e-mails, SSNs in transcripts [PATTERDASH_REDACT_PATTERNS]"
        ),
    ] = False,
    redact_regex: Annotated[
        list[str] | None,
        typer.Option(
            help="Another regex to redact in transcripts; repeatable [env: PATTERDASH_REDACT_REGEX, JSON list]"
        ),
    ] = None,
    watch: Annotated[
        Path | None,
        typer.Option("--watch-logs", help="Follow a Patter call-log directory (PATTER_LOG_DIR) as calls are written"),
    ] = None,
) -> None:
    """Start the dashboard and its API; prints the URL to open."""
    settings = settings_from(
        host=host,
        port=port,
        db=db,
        token=token,
        ring_size=ring_size,
        insecure=insecure or None,
        drop_pii_attributes=drop_pii_attributes or None,
        allowed_hosts=allowed_host or None,
        max_active_calls=max_active_calls,
        max_connections=max_connections,
        loopback_ingest=loopback_ingest,
        stale_after_silence=stale_after_silence,
        access_log=access_log or None,
        alerts=alerts,
        redact_numbers=redact_numbers or None,
        redact_patterns=redact_patterns or None,
        redact_regex=redact_regex or None,
    )
    configure_logging(settings.log_level)
    if settings.alerts is not None:
        try:  # a bad rules file stops the start with one line naming file, rule and field
            load_rules(settings.alerts)
        except RulesError as e:
            fail(str(e))
    with removed_if_start_fails(settings.db) as startup:
        # Any stored row counts, revoked ones too: revoking every token locks the server.
        protected = bool(settings.token) or bool(_stored_tokens(settings, wait=wait_for_store))
        if not protected:
            if not is_loopback(settings.host) and not settings.insecure:
                fail(
                    f"refusing to bind {settings.host} without a token: pass --token "
                    "(or PATTERDASH_TOKEN), bind 127.0.0.1, or add --insecure"
                )
            log.warning("no token configured: the dashboard is open to anyone who can reach %s", settings.host)
        companions = _companions(settings, demo=demo, watch=watch)
        try:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                runner.run(serve(settings, announce=startup.announce, companions=companions))
        except OSError as e:
            fail(f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}")
        except LogError as e:
            fail(str(e))


def _companions(settings: Settings, *, demo: bool, watch: Path | None) -> list[Companion]:
    """The background jobs the flags ask for."""
    companions: list[Companion] = []
    if demo:  # posts through /api/events like a real agent, with the --token if any
        secret = settings.token.get_secret_value() if settings.token else None
        companions.append(demo_companion(seed=None, speed=1.0, token=secret))
    if watch is not None:
        if watch.exists() and not watch.is_dir():
            fail(f"--watch-logs {watch}: not a directory")
        companions.append(watch_logs(watch))
    return companions
