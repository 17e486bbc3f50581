"""Settings: flags, then ``PATTERDASH_*`` environment variables, then ``.env``.

The only module that reads the environment.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from patterdash.ops.redaction import Redactor, compile_patterns

__all__ = ["Settings", "load_settings", "redactor_of"]


def _store_url(value: Any) -> Any:
    """A path given as ``Path`` is kept as text: the store may also be a URL (``postgresql://...``)."""
    return str(value) if isinstance(value, PurePath) else value


class Settings(BaseSettings):
    """Every knob of patterdash, documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PATTERDASH_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to bind (loopback by default).")
    port: int = Field(8000, ge=0, le=65535, description="Port (8000 is where the Patter SDK posts).")
    db: Annotated[str, BeforeValidator(_store_url)] = Field(
        "patterdash.db",
        description="Event log: a SQLite file path (or sqlite:///path), or a postgresql://... URL.",
    )
    token: SecretStr | None = Field(None, description="One admin token (kept only as a hash).")
    ring_size: int = Field(500, ge=1, le=100_000, description="Completed calls held in memory.")
    stale_after: float = Field(7200.0, gt=0, description="Seconds without an event before a call is closed as lost.")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Request body cap in bytes.")
    insecure: bool = Field(False, description="Allow a non-loopback bind without a token.")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="SQLite synchronous mode (NORMAL: durable across crashes; FULL: also power loss).",
    )
    sse_keepalive: float = Field(15.0, gt=0, description="Seconds between SSE keep-alive comments.")
    sse_send_timeout: float = Field(10.0, gt=0, description="A subscriber whose write stalls this long is dropped.")
    poll_interval: float = Field(0.25, gt=0, le=1.0, description="How often other processes' appends are picked up.")
    alerts: Path | None = Field(None, description="Alert rules file (TOML); reloaded when it changes.")
    alerts_interval: float = Field(1.0, gt=0, le=60, description="Seconds between two evaluations of the alert rules.")
    retain_days: float | None = Field(
        None, gt=0, description="Purge calls that ended more than this many days ago (irreversible)."
    )
    retain_every: float = Field(3600.0, gt=0, description="Seconds between two retention passes.")
    redact_numbers: bool = Field(
        False, description="Store only the last 4 digits of caller/callee and of numbers in transcripts."
    )
    redact_patterns: bool = Field(
        False, description="Replace card numbers (Luhn-checked), e-mail addresses and US SSNs in transcripts."
    )
    redact_regex: list[str] = Field(
        default_factory=list, description="More patterns to replace in transcripts (a JSON list of regexes)."
    )
    log_level: str = Field("INFO", description="Python logging level.")
    max_active_calls: int = Field(
        10_000, ge=1, description="Calls in progress held at once; a new one beyond is a 429."
    )
    max_call_lines: int = Field(
        2_000, ge=10, description="Transcript lines, turns and call events one call holds in memory (newest kept)."
    )
    max_call_bytes: int = Field(
        1024 * 1024, ge=4096, description="Text bytes one call holds in memory (newest kept; the log keeps all)."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Host names accepted besides loopback ones (comma-separated)."
    )
    max_connections: int = Field(
        1000, ge=16, description="Open connections; beyond, the longest-waiting idle or slow one is shed."
    )
    head_timeout: float = Field(10.0, gt=0, description="Seconds a client has to send a request's headers.")
    body_timeout: float = Field(30.0, gt=0, description="Seconds a client has to send a request's body.")
    loopback_ingest: bool = Field(
        True,
        description="With tokens set, accept token-less POST /api/dashboard/ingest from this machine "
        "(the Patter SDK posts without one); never through a proxy's forwarding headers.",
    )
    stale_after_silence: float = Field(
        600.0,
        gt=0,
        description="Seconds of silence after turn-level events before a call is closed as lost.",
    )
    access_log: bool = Field(False, description="Log one line per HTTP request (errors and refusals always are).")

    @field_validator("redact_regex")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        """A regex that does not compile stops the start, naming it."""
        compile_patterns(value)
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """``a.example,b.example`` from the environment; a list from flags or code."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    otlp_max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="OTLP / LiveKit upload cap in bytes (compressed and decompressed)."
    )
    price_table: Path | None = Field(None, description="JSON price table for OTLP/LiveKit calls' cost (README).")
    drop_pii_attributes: bool = Field(False, description="Never store span attributes whose key contains .pii.")
    livekit_api_key: str | None = Field(None, description="LiveKit API key whose tokens may upload observability.")
    livekit_api_secret: SecretStr | None = Field(None, description="LiveKit API secret that signs those tokens.")
    recordings_dir: Path | None = Field(None, description="Where call recordings are kept (default: beside the db).")
    max_recording_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Largest recording accepted, in bytes.")


def redactor_of(settings: Settings) -> Redactor:
    """The redaction the settings ask for at the door (inactive by default)."""
    return Redactor(
        numbers=settings.redact_numbers,
        patterns=settings.redact_patterns,
        custom=tuple(compile_patterns(settings.redact_regex)),
    )


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env, with non-None keyword overrides (CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
