"""PostgreSQL schema steps: SQL run in one transaction each by ``PostgresStore``."""

from __future__ import annotations

__all__ = ["POSTGRES_MIGRATIONS", "POSTGRES_SCHEMA_VERSION"]

POSTGRES_SCHEMA_VERSION = 2

_V1 = [
    # seq is assigned by the appender under a transaction-level advisory lock (see
    # postgres.py): insert order is commit order, so readers never skip a late commit.
    """CREATE TABLE IF NOT EXISTS patterdash_events (
        seq bigint PRIMARY KEY,
        id text NOT NULL UNIQUE,
        type text NOT NULL,
        call_id text NOT NULL,
        ts double precision NOT NULL,
        data text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS patterdash_events_call ON patterdash_events (call_id, seq)",
    """CREATE TABLE IF NOT EXISTS patterdash_calls (
        call_id text PRIMARY KEY,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        last_ts double precision NOT NULL,
        completed_seq bigint,
        deleted integer NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS patterdash_calls_completed ON patterdash_calls (deleted, completed_seq)",
    """CREATE TABLE IF NOT EXISTS patterdash_tokens (
        id text PRIMARY KEY,
        scope text NOT NULL,
        hash text NOT NULL UNIQUE,
        created_at double precision NOT NULL,
        last_used_at double precision,
        expires_at double precision,
        revoked_at double precision
    )""",
    # bumped by every token change: the nodes' cheap change marker covers tokens too
    "CREATE SEQUENCE IF NOT EXISTS patterdash_tokens_version",
]

_SUMS = ", ".join(
    f"{f} bigint NOT NULL"
    for f in (
        "calls",
        "duration_us",
        "cost_us",
        "cost_stt_us",
        "cost_tts_us",
        "cost_llm_us",
        "cost_telephony_us",
        "latency_sum_us",
        "latency_n",
        "turns",
    )
)
# History rollups (derived from the log; PostgresStore fills them after this step, see rollups)
_V2 = [
    f"""CREATE TABLE IF NOT EXISTS patterdash_call_facts (
        call_id text PRIMARY KEY,
        started_at double precision NOT NULL,
        status text NOT NULL,
        direction text NOT NULL,
        agent text NOT NULL,
        providers text NOT NULL,
        deleted integer NOT NULL,
        {_SUMS},
        hist text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS patterdash_call_facts_started ON patterdash_call_facts (deleted, started_at, call_id)",
    f"""CREATE TABLE IF NOT EXISTS patterdash_rollups (
        grain integer NOT NULL,
        bucket bigint NOT NULL,
        status text NOT NULL,
        direction text NOT NULL,
        {_SUMS},
        PRIMARY KEY (grain, bucket, status, direction)
    )""",
    """CREATE TABLE IF NOT EXISTS patterdash_rollup_hist (
        grain integer NOT NULL,
        bucket bigint NOT NULL,
        status text NOT NULL,
        direction text NOT NULL,
        bin integer NOT NULL,
        turns bigint NOT NULL,
        PRIMARY KEY (grain, bucket, status, direction, bin)
    )""",
]

POSTGRES_MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2}
