"""Schema versions: a log written by older code is served unchanged; a newer one is refused."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from patterdash.store import SchemaTooNew, open_store
from tests.cli_helpers import invoke, one_line_error
from tests.conftest import StartClient

FIXTURES = Path(__file__).parent / "fixtures"
V1_TOKEN = "fixture-admin-token-v1-0123456789"  # see fixtures/make_log_v1.py


@pytest.fixture
def v1_log(tmp_path: Path) -> Path:
    """A copy of the log written by main at 4aaf25e (before the storage contract)."""
    copy = tmp_path / "v1.db"
    shutil.copyfile(FIXTURES / "log_v1.db", copy)
    return copy


def _rows(db: Path) -> list[Any]:
    conn = sqlite3.connect(db)
    try:
        # Using a token stamps its last_used_at (bookkeeping, flushed on a timer): that write is expected.
        tokens = "SELECT id, scope, hash, created_at, expires_at, revoked_at FROM tokens ORDER BY 1"
        return [
            conn.execute(q).fetchall()
            for q in ("SELECT * FROM events ORDER BY 1", "SELECT * FROM calls ORDER BY 1", tokens)
        ]
    finally:
        conn.close()


async def test_a_log_written_by_older_code_is_served_unchanged(start_client: StartClient, v1_log: Path) -> None:
    expected: dict[str, Any] = json.loads((FIXTURES / "log_v1_answers.json").read_text())
    before = _rows(v1_log)
    client = await start_client(db=v1_log, stale_after=10**9)
    headers = {"Authorization": f"Bearer {V1_TOKEN}"}  # the token stored by the old code still works
    for path, answer in expected.items():
        resp = await client.get(path, headers=headers)
        assert resp.status == answer["status"], path
        body = await resp.json(content_type=None)
        if isinstance(body, dict) and isinstance(answer["body"], dict):
            body = {k: body.get(k, "<missing>") for k in answer["body"]}  # keys may be added, never lost
        assert body == answer["body"], path
    await client.close()
    assert _rows(v1_log) == before
    store = open_store(v1_log)
    assert (store.migrated_from, store.schema_version()) == (2, 2)  # serving migrated it (v2: history rollups)
    store.close()


def test_migrate_reports_the_schema_and_is_idempotent(v1_log: Path, tmp_path: Path) -> None:
    result = invoke("migrate", "--db", v1_log)
    assert result.exit_code == 0 and "schema v1 -> v2" in result.stderr
    assert "schema v2, up to date" in invoke("migrate", "--db", v1_log).stderr
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # an empty SQLite file: version 0
    result = invoke("migrate", "--db", f"sqlite:///{empty}")
    assert result.exit_code == 0 and "schema v0 -> v2" in result.stderr
    assert "up to date" in invoke("migrate", "--db", empty).stderr


def test_a_newer_schema_is_refused_with_one_clear_line(v1_log: Path) -> None:
    conn = sqlite3.connect(v1_log)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="schema v99, newer than this patterdash"):
        open_store(v1_log)
    for command in (["serve", "--port", "0"], ["stats"], ["migrate"]):
        result = invoke(*command, "--db", v1_log)
        assert result.exit_code == 1, command
        assert "schema v99, newer than this patterdash knows (v2)" in one_line_error(result)


@pytest.mark.parametrize(
    ("url", "where"),
    [("plain.db", "plain.db"), ("sqlite:///rel.db", "rel.db"), ("sqlite:////abs/x.db", "/abs/x.db")],
)
def test_paths_and_sqlite_urls_name_the_same_kind_of_store(url: str, where: str) -> None:
    from patterdash.store import sqlite_path

    assert sqlite_path(url) == Path(where)


def test_an_unknown_scheme_or_a_password_never_leaks(tmp_path: Path) -> None:
    from patterdash.store import LogError, redact_url

    assert redact_url("postgresql://app:s3cret@db:5432/pd") == "postgresql://app:***@db:5432/pd"
    with pytest.raises(LogError, match="unknown store") as info:
        open_store("mysql://root:hunter2@db/x")
    assert "hunter2" not in str(info.value)
