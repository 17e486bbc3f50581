"""``patterdash copy``: SQLite -> PostgreSQL -> events NDJSON -> SQLite, keeping ids, times and order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from patterdash.auth import rotate_token
from patterdash.store import open_store
from tests.cli_helpers import append_events, invoke, one_line_error
from tests.factories import event, full_call


def _events(url: str | Path) -> list[tuple[Any, ...]]:
    store = open_store(url, create=False)
    try:
        return [(e.seq, e.id, e.type, e.call_id, e.ts, e.data) for e in store.read_after(0)]
    finally:
        store.close()


def test_a_log_goes_round_sqlite_postgres_ndjson_sqlite_unchanged(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "src.db"
    calls = [ev for n in range(30) for ev in full_call(f"CA-{n}", ts=1_700_000_000.123456789 + n)]
    append_events(db, [*calls, event("calls_deleted", "*", {"call_ids": ["CA-3"]}, ts=1.0)])
    store = open_store(db)
    rotate_token(store, scope="ingest", grace=0, now=time.time())
    store.close()
    original = _events(db)
    ndjson, back = tmp_path / "log.ndjson", tmp_path / "back.db"

    first = invoke("copy", str(db), pg_url)
    assert first.exit_code == 0, first.stderr
    assert "copied 181 events (181 new, 0 already there) and 1 tokens" in first.stderr
    assert "check: both sides 181 events, checksum" in first.stderr
    again = invoke("copy", str(db), pg_url)
    assert "(0 new, 181 already there) and 0 tokens" in again.stderr  # re-running appends nothing
    assert invoke("copy", pg_url, str(ndjson)).exit_code == 0
    assert invoke("copy", str(ndjson), f"sqlite:///{back}").exit_code == 0

    assert _events(pg_url) == original == _events(back)  # ids, exact times, data and order
    assert orjson.loads(ndjson.read_bytes().splitlines()[0])["id"] == original[0][1]
    pg = open_store(pg_url)
    assert pg.completed_count() == 29 and len(pg.tokens()) == 1  # the calls index rebuilt, tokens carried
    pg.close()
    stats = invoke("stats", "--json", "--db", pg_url)  # the other commands take the URL too
    assert stats.exit_code == 0 and orjson.loads(stats.stdout)["integrity"] == "ok"
    assert "up to date" in invoke("migrate", "--db", pg_url).stderr
    assert invoke("token", "list", "--db", pg_url).exit_code == 0


def test_a_destination_holding_an_id_with_other_content_fails_the_check(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.db", tmp_path / "b.db"
    append_events(src, [event("call_start", "CA-1", {"caller": "1"}, id="same", ts=1.0)])
    append_events(dst, [event("call_start", "CA-1", {"caller": "2"}, id="same", ts=1.0)])
    result = invoke("copy", str(src), str(dst))
    assert result.exit_code == 1
    assert "check failed: source 1 events" in result.stderr


def test_a_missing_source_is_one_line(tmp_path: Path) -> None:
    result = invoke("copy", str(tmp_path / "nope.db"), str(tmp_path / "out.db"))
    assert result.exit_code == 1 and "no event log" in one_line_error(result)
    assert not (tmp_path / "out.db").exists()
