"""``patterdash stats``: size, counts, seq range, integrity, for people and scripts."""

from __future__ import annotations

import json
from pathlib import Path

from patterdash.store.sqlite import EventLog
from tests.cli_helpers import invoke, one_line_error, sample_log


def test_json_reports_counts_seq_range_times_and_integrity(db_path: Path) -> None:
    sample_log(db_path)
    result = invoke("stats", "--db", db_path, "--json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["events"] == 27
    assert stats["events_by_type"]["call_start"] == 5
    assert stats["events_by_type"]["calls_deleted"] == 1
    assert stats["calls"] == {"completed": 3, "active": 1, "deleted": 1}
    assert stats["seq_range"] == [1, 27]
    assert stats["first_ts"] == 1_767_225_600.0 + 3600
    assert stats["integrity"] == "ok"
    assert stats["size_bytes"] >= db_path.stat().st_size > 0


def test_human_output_is_a_readable_table(db_path: Path) -> None:
    sample_log(db_path)
    result = invoke("stats", "--db", db_path)
    assert result.exit_code == 0
    out = result.stdout
    assert "3 completed, 1 active, 1 deleted" in out
    assert "1 … 27" in out
    assert "2026-01-01T01:00:00Z" in out
    assert "integrity" in out and "ok" in out


def test_an_empty_log_has_no_seq_range(db_path: Path) -> None:
    EventLog(db_path).close()
    stats = json.loads(invoke("stats", "--db", db_path, "--json").stdout)
    assert stats["events"] == 0 and stats["seq_range"] == [None, None]
    assert "seq range" in invoke("stats", "--db", db_path).stdout


def test_a_missing_log_exits_1_with_one_line(tmp_path: Path) -> None:
    result = invoke("stats", "--db", tmp_path / "missing.db")
    assert result.exit_code == 1
    assert "no event log" in one_line_error(result)


def test_a_file_that_is_not_a_log_exits_1_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = invoke("stats", "--db", junk)
    assert result.exit_code == 1
    assert "junk.db" in one_line_error(result)


def test_help_shows_an_example() -> None:
    assert "Example: patterdash stats" in invoke("stats", "--help").stdout
