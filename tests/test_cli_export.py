"""``patterdash export``: the whole log, filtered, streamed, equal to the HTTP export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.export import CALL_COLUMNS, TURN_COLUMNS
from tests.cli_helpers import append_events, invoke, one_line_error, sample_log
from tests.conftest import StartClient
from tests.factories import event, full_call
from tests.reliability_helpers import record_figure, run_cli


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_to_stdout_has_every_completed_call_and_no_active_or_deleted_one(db_path: Path) -> None:
    sample_log(db_path)
    result = invoke("export", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # quiet when not on a terminal
    header = result.stdout.splitlines()[0]
    assert header == ",".join(CALL_COLUMNS)
    assert [r["call_id"] for r in _rows(result.stdout)] == ["c-jan1", "c-jan2", "c-jan3"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2026-01-02"], ["c-jan2", "c-jan3"]),
        (["--to", "2026-01-02"], ["c-jan1"]),
        (["--from", "2026-01-02", "--to", "2026-01-02T23:59:59Z"], ["c-jan2"]),
        (["--from", "2026-01-02T02:00:00+01:00"], ["c-jan2", "c-jan3"]),
        (["--status", "busy"], ["c-jan2"]),
        (["--status", "completed", "--from", "2026-01-01"], ["c-jan1", "c-jan3"]),
    ],
)
def test_filters_by_iso_dates_in_utc_and_status(db_path: Path, args: list[str], expected: list[str]) -> None:
    sample_log(db_path)
    result = invoke("export", "--db", db_path, "--format", "csv", *args)
    assert result.exit_code == 0, result.stderr
    assert [r["call_id"] for r in _rows(result.stdout)] == expected


def test_json_and_ndjson_carry_the_full_call_records(db_path: Path) -> None:
    sample_log(db_path)
    as_json = json.loads(invoke("export", "--db", db_path, "--format", "json").stdout)
    lines = invoke("export", "--db", db_path, "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line) for line in lines] == as_json
    first = as_json[0]
    assert first["call_id"] == "c-jan1"
    assert [t["text"] for t in first["transcript"]] == ["hello", "hi"]
    assert first["metrics"]["cost"]["total"] == pytest.approx(0.05)


def test_per_turn_writes_one_row_per_turn_with_every_latency_field(db_path: Path) -> None:
    sample_log(db_path)
    result = invoke("export", "--db", db_path, "--per", "turn")
    assert result.stdout.splitlines()[0] == ",".join(TURN_COLUMNS)
    rows = _rows(result.stdout)
    assert [(r["call_id"], r["turn_index"]) for r in rows] == [("c-jan1", "0"), ("c-jan2", "0"), ("c-jan3", "0")]
    assert rows[0]["stt_ms"] == "120.0" and rows[0]["total_ms"] == "600.0"
    turns = [
        json.loads(line)
        for line in invoke("export", "--db", db_path, "-f", "ndjson", "--per", "turn").stdout.splitlines()
    ]
    assert set(turns[0]) == set(TURN_COLUMNS)


def test_output_file_is_written_whole_and_stdout_stays_empty(db_path: Path, tmp_path: Path) -> None:
    sample_log(db_path)
    target = tmp_path / "out" / "calls.csv"
    target.parent.mkdir()
    result = invoke("export", "--db", db_path, "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert [r["call_id"] for r in _rows(target.read_text())] == ["c-jan1", "c-jan2", "c-jan3"]
    assert list(target.parent.iterdir()) == [target]  # no .partial left behind


def test_csv_neutralises_formula_injection(db_path: Path) -> None:
    events = full_call("c-evil")
    events[0]["data"]["caller"] = "=HYPERLINK(1)"
    events[0]["data"]["callee"] = "+15550002222"
    append_events(db_path, events)
    row = _rows(invoke("export", "--db", db_path).stdout)[0]
    assert row["caller"] == "'=HYPERLINK(1)"
    assert row["callee"] == "+15550002222"  # a phone number is data, not a formula
    assert row["started_at"].endswith("Z") and row["started_at"][10] == "T"  # ISO 8601 UTC, not epoch seconds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "--from: not an ISO date or time"),
        (["--to", "2026-13-01"], "--to: not an ISO date or time"),
    ],
)
def test_bad_dates_exit_1_with_one_line(db_path: Path, args: list[str], message: str) -> None:
    sample_log(db_path)
    result = invoke("export", "--db", db_path, *args)
    assert result.exit_code == 1
    assert message in one_line_error(result)


def test_a_missing_log_is_a_one_line_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = invoke("export", "--db", missing)
    assert result.exit_code == 1
    assert "no event log" in one_line_error(result)
    assert not missing.exists()


def test_an_unknown_format_is_a_usage_error(db_path: Path) -> None:
    sample_log(db_path)
    assert invoke("export", "--db", db_path, "--format", "xlsx").exit_code == 2


def test_settings_come_from_the_environment(db_path: Path) -> None:
    sample_log(db_path)
    result = invoke("export", env={"PATTERDASH_DB": str(db_path)})
    assert result.exit_code == 0
    assert len(_rows(result.stdout)) == 3


def test_help_shows_an_example() -> None:
    result = invoke("export", "--help")
    assert result.exit_code == 0
    assert "Example: patterdash export" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
@pytest.mark.parametrize("per", ["call", "turn"])
async def test_cli_export_equals_the_http_export_of_the_whole_log(
    start_client: StartClient, db_path: Path, fmt: str, per: str
) -> None:
    client: TestClient[Any, Any] = await start_client(ring_size=2)  # the ring holds less than the log
    for n in range(5):
        resp = await client.post("/api/events", json=full_call(f"c{n}", ts=1_767_225_600.0 + 3600 * n))
        assert resp.status == 200
    await client.post("/api/events", json=event("call_start", "c-active", {}))
    await client.delete("/api/dashboard/calls/c1")
    resp = await client.get(f"/api/dashboard/export/calls?scope=all&format={fmt}&per={per}&from=2026-01-01")
    over_http = await resp.read()
    result = invoke("export", "--db", db_path, "--format", fmt, "--per", per, "--from", "2026-01-01")
    assert result.exit_code == 0
    assert result.stdout_bytes == over_http
    assert b"c4" in over_http and b"c1" not in over_http and b"c-active" not in over_http


def test_the_installed_script_exports_while_a_server_holds_the_log_open(db_path: Path) -> None:
    from tests.reliability_helpers import running_server

    sample_log(db_path)
    with running_server(db_path):
        proc = run_cli("export", "--db", str(db_path), "--format", "ndjson", cwd=db_path.parent)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["call_id"] for line in proc.stdout.splitlines()] == ["c-jan1", "c-jan2", "c-jan3"]


def _big_log(db: Path, calls: int) -> None:
    """``calls`` completed calls of 6 events each, appended straight to the log in big batches."""
    base = 1_767_225_600.0
    batch: list[dict[str, Any]] = []
    for n in range(calls):
        for i, ev in enumerate(full_call(f"call-{n:07d}", ts=base + n)):
            batch.append({**ev, "id": f"call-{n:07d}:{i}"})
        if len(batch) >= 30_000:
            append_events(db, batch, validate=False)
            batch = []
    if batch:
        append_events(db, batch, validate=False)


def _peak_rss_kib(db: Path) -> tuple[int, int]:
    """(peak RSS in KiB, CSV lines) of a ``patterdash export`` run in a fresh process."""
    # VmHWM, not ru_maxrss: Linux carries the parent's (pytest's) peak across fork+exec into ru_maxrss
    script = (
        "import re, sys\n"
        "from patterdash_cli.main import app\n"
        "try:\n    app(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "status = open('/proc/self/status').read()\n"
        "sys.stderr.write(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    import subprocess
    import sys

    out = db.with_suffix(".csv")
    proc = subprocess.run(
        [sys.executable, "-c", script, "export", "--db", str(db), "--output", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    with out.open() as f:
        lines = sum(1 for _ in f)
    return int(proc.stderr.strip().splitlines()[-1]), lines


@pytest.mark.slow
def test_export_runs_in_constant_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.db", tmp_path / "large.db"
    _big_log(small, 1_000)
    _big_log(large, 25_000)  # 150,000 events; holding the folded records would take >100 MB
    small_rss, small_lines = _peak_rss_kib(small)
    large_rss, large_lines = _peak_rss_kib(large)
    assert (small_lines, large_lines) == (1_001, 25_001)
    record_figure("export_peak_rss_kib_1k_calls", small_rss)
    record_figure("export_peak_rss_kib_25k_calls", large_rss)
    assert large_rss - small_rss < 16 * 1024, (small_rss, large_rss)
