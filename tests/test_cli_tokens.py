"""``patterdash token``: rotate, list, revoke; a running server honours changes within 2 s."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from patterdash.auth import hash_token, list_tokens
from patterdash.store.sqlite import EventLog
from tests.cli_helpers import invoke, one_line_error
from tests.conftest import StartClient
from tests.reliability_helpers import record_figure, run_cli, running_server, wait_until


def _rotate(db: Path, *args: str) -> str:
    result = invoke("token", "rotate", "--db", db, *args)
    assert result.exit_code == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("pd_") and "\n" not in secret
    return secret


def _listed(db: Path) -> list[dict[str, object]]:
    result = invoke("token", "list", "--db", db, "--json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_rotate_prints_the_secret_once_and_stores_only_its_hash(db_path: Path) -> None:
    result = invoke("token", "rotate", "--db", db_path, "--scope", "ingest")
    secret = result.stdout.strip()
    assert "not shown again" in result.stderr and secret not in result.stderr
    log = EventLog(db_path)
    (row,) = log.tokens()
    log.close()
    assert row["scope"] == "ingest" and row["hash"] == hash_token(secret)
    assert secret.encode() not in db_path.read_bytes()


def test_list_shows_id_scope_state_and_times_but_never_a_secret(db_path: Path) -> None:
    secret = _rotate(db_path, "--scope", "read")
    (row,) = _listed(db_path)
    assert set(row) == {"id", "scope", "state", "created_at", "last_used_at", "expires_at", "revoked_at"}
    assert row["scope"] == "read" and row["state"] == "active"
    table = invoke("token", "list", "--db", db_path)
    assert table.exit_code == 0
    assert str(row["id"]) in table.stdout and "read" in table.stdout
    assert secret not in table.stdout and hash_token(secret) not in table.stdout


def test_rotation_retires_only_the_same_scope_after_the_grace_period(db_path: Path) -> None:
    _rotate(db_path, "--scope", "admin")
    _rotate(db_path, "--scope", "read")
    before = time.time()
    _rotate(db_path, "--scope", "admin", "--grace", "600")
    old_admin, reader, new_admin = _listed(db_path)
    assert old_admin["state"] == "expiring"
    assert before + 600 <= float(old_admin["expires_at"]) <= time.time() + 600  # type: ignore[arg-type]
    assert reader["state"] == "active" and new_admin["state"] == "active"
    _rotate(db_path, "--scope", "admin")
    assert [r["state"] for r in _listed(db_path)] == ["expired", "active", "expired", "active"]


def test_revoke_marks_the_token_and_refuses_unknown_or_repeated_ids(db_path: Path) -> None:
    _rotate(db_path)
    token_id = str(_listed(db_path)[0]["id"])
    result = invoke("token", "revoke", "--db", db_path, token_id)
    assert result.exit_code == 0 and f"revoked {token_id}" in result.stderr
    assert _listed(db_path)[0]["state"] == "revoked"
    again = invoke("token", "revoke", "--db", db_path, token_id)
    assert again.exit_code == 1 and "already revoked" in one_line_error(again)
    unknown = invoke("token", "revoke", "--db", db_path, "tok_nope")
    assert unknown.exit_code == 1 and "no token 'tok_nope'" in one_line_error(unknown)


@pytest.mark.parametrize(
    "args",
    [["token", "rotate", "--scope", "root"], ["token", "rotate", "--grace", "-1"], ["token", "revoke"], ["token", "x"]],
)
def test_usage_errors_exit_2(db_path: Path, args: list[str]) -> None:
    assert invoke(*args, "--db", db_path).exit_code == 2


def test_list_on_a_missing_log_is_a_one_line_error(tmp_path: Path) -> None:
    result = invoke("token", "list", "--db", tmp_path / "missing.db")
    assert result.exit_code == 1 and "no event log" in one_line_error(result)


def test_every_token_command_has_an_example() -> None:
    for command in ("rotate", "list", "revoke"):
        assert "Example: " in invoke("token", command, "--help").stdout


def _status(base_url: str, token: str | None) -> int:
    request = urllib.request.Request(f"{base_url}/api/dashboard/aggregates")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _cli(db: Path, *args: str) -> str:
    """The installed script, in its own process (slow to start on a busy machine: not for timed steps)."""
    proc = run_cli("token", *args, "--db", str(db), cwd=db.parent)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _now(db: Path, *args: str) -> str:
    """The same CLI in-process, so that a timed step is not measuring interpreter start-up."""
    result = invoke("token", *args, "--db", db)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def _honoured_within(base_url: str, expected: dict[str | None, int], *, what: str) -> float:
    started = time.monotonic()
    wait_until(lambda: all(_status(base_url, t) == code for t, code in expected.items()), timeout=2.0, what=what)
    return time.monotonic() - started


def test_a_running_server_honours_rotation_and_revocation_within_2_s(db_path: Path) -> None:
    first = _cli(db_path, "rotate", "--scope", "admin")
    with running_server(db_path) as server:
        url = server.base_url
        assert _status(url, first) == 200 and _status(url, None) == 401
        second = _now(db_path, "rotate", "--scope", "admin")
        took = _honoured_within(url, {first: 401, second: 200}, what="rotation")
        record_figure("token_rotation_honoured_s", round(took, 3))
        rotated_at = time.monotonic()
        third = _now(db_path, "rotate", "--scope", "admin", "--grace", "3")
        _honoured_within(url, {second: 200, third: 200}, what="the new token, the old one in its grace")
        wait_until(lambda: _status(url, second) == 401, timeout=8.0, what="the grace period to end")
        assert time.monotonic() - rotated_at >= 2.9  # the old token kept working through its grace period
        third_id = next(r["id"] for r in json.loads(_cli(db_path, "list", "--json")) if r["state"] == "active")
        _now(db_path, "revoke", third_id)
        took = _honoured_within(url, {third: 401}, what="revocation")
        record_figure("token_revocation_honoured_s", round(took, 3))
        assert _status(url, None) == 401  # still protected: revoking the last token does not open the server


async def test_revoking_the_only_token_locks_the_server_instead_of_opening_it(
    start_client: StartClient, db_path: Path
) -> None:
    secret = _rotate(db_path, "--scope", "read")
    client = await start_client()
    assert (await client.get("/api/dashboard/calls", headers={"Authorization": f"Bearer {secret}"})).status == 200
    assert invoke("token", "revoke", "--db", db_path, str(_listed(db_path)[0]["id"])).exit_code == 0
    statuses: list[int] = []

    async def refused() -> bool:
        for token in (secret, None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            statuses.append((await client.get("/api/dashboard/calls", headers=headers)).status)
        return statuses[-2:] == [401, 401]

    deadline = time.monotonic() + 2.0
    while not await refused():
        assert time.monotonic() < deadline, statuses
        await asyncio.sleep(0.05)


def test_a_token_written_by_another_process_survives_a_server_that_holds_two_connections(db_path: Path) -> None:
    """Regression: opening a second log in one process once dropped the first's file locks, so a
    CLI closing its connection checkpointed and deleted the WAL under the server (rotation lost)."""
    writer, reader = EventLog(db_path), EventLog(db_path)
    try:
        reader.tokens()
        _cli(db_path, "rotate", "--scope", "read")
        writer.update_token("none", last_used_at=1.0)  # the server's own write after the rotation
        _cli(db_path, "rotate", "--scope", "ingest")
        assert Path(f"{db_path}-wal").exists()
        assert [row["scope"] for row in writer.tokens()] == ["read", "ingest"]
    finally:
        writer.close()
        reader.close()
    assert [row["scope"] for row in list_tokens(EventLog(db_path))] == ["read", "ingest"]
