"""The benchmark's own parts: the raw HTTP client, the raw executemany floor, the target table, the store skip."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

import tests.pg
from bench import render, targets, w_store
from bench.__main__ import main as bench_main
from bench.common import export_tree, run_client, start_patterdash
from bench.loadgen import _RawConnection, request_stream
from bench.w_ingest import _durability, raw_executemany
from patterdash.core.events import validate_event
from patterdash.store import open_store


async def test_raw_client_reads_chunked_and_sized_responses_on_one_connection() -> None:
    """The calls list is streamed (chunked): the closed loop must read it whole, then go on."""

    async def streamed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=201)
        await resp.prepare(request)
        for part in (b"[", b"1," * 5000, b"2]"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    async def sized(request: web.Request) -> web.Response:
        return web.Response(body=b"ok", status=202)

    app = web.Application()
    app.router.add_get("/streamed", streamed)
    app.router.add_get("/sized", sized)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _RawConnection(f"127.0.0.1:{port}"), "127.0.0.1", port)
        statuses = [await asyncio.wait_for(conn.request("GET", path, None), 10) for path in ("/streamed", "/sized") * 3]
        assert statuses == [201, 202] * 3
        assert conn.buf == bytearray()  # nothing of a body left over for the next response
        assert conn.transport is not None
        conn.transport.close()
    finally:
        await runner.cleanup()


def test_lines_stream_sends_only_transcript_lines_in_batches_of_100() -> None:
    make = request_stream({"kind": "batch", "types": ["transcript_line"], "prefix": "p", "batch": 100})
    ((method, path, body, _),) = make()
    events = orjson.loads(body or b"")
    assert (method, path, len(events)) == ("POST", "/api/events", 100)
    assert {e["type"] for e in events} == {"transcript_line"}
    assert len({e["id"] for e in events}) == 100


def _log_with(path: Path, prefixes: dict[str, int]) -> None:
    store = open_store(str(path))
    try:
        for prefix, count in prefixes.items():
            events = [
                validate_event(
                    {
                        "id": f"{prefix}-{n}",
                        "type": "transcript_line",
                        "call_id": f"{prefix}-call",
                        "ts": 1.0 + n,
                        "data": {"role": "user", "text": f"line {n}"},
                    },
                    now=1.0,
                )
                for n in range(count)
            ]
            store.append([events], known_seq=store.max_seq())
    finally:
        store.close()


def test_raw_executemany_inserts_the_same_rows_with_the_same_schema(tmp_path: Path) -> None:
    _log_with(tmp_path / "log.db", {"r0b": 250, "r0l": 40})
    out = raw_executemany(tmp_path / "log.db", "r0b-", tmp_path / "raw.db")
    assert out["events"] == 250 and out["units_per_s"] > 0
    src, raw = sqlite3.connect(tmp_path / "log.db"), sqlite3.connect(tmp_path / "raw.db-0")
    try:
        query = "SELECT * FROM events WHERE id LIKE 'r0b-%' ORDER BY seq"
        assert raw.execute("SELECT * FROM events ORDER BY seq").fetchall() == src.execute(query).fetchall()
        schema = "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'events' ORDER BY name"
        assert raw.execute(schema).fetchall() == src.execute(schema).fetchall()
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        src.close()
        raw.close()


def _results(**ingest: Any) -> dict[str, Any]:
    pairs = {"rps": 100.0, "p50_ms": 1.0, "p99_ms": 4.0}
    results = {
        "patterdash": {
            "pairs_c1": pairs,
            "batch100_c8": {"rps": 40.0, "units_per_s": 4000.0, "p50_ms": 1.0, "p99_ms": 2.0},
            "raw_batch100_c8": {"rps": 100.0, "units_per_s": 10000.0, "events": 5000},
            "durability": {"acked_events": 10, "rows_after_sigkill": 10},
        },
        "patter": {"pairs_c1": {**pairs, "rps": 80.0, "p50_ms": 0.9}},
        "bare": {"pairs_c1": {**pairs, "rps": 400.0}, "batch100_c8": {**pairs, "rps": 80.0, "units_per_s": 8000.0}},
    }
    ratios = {"pairs_c1": {"vs_bare": 0.25, "vs_patter": 1.25}, "batch100_c8": {"vs_bare": 0.5, "vs_raw": 0.4}}
    return {"workloads": {"ingest": {"results": results, "ratios": ratios, **ingest}}, "machine": {"commit": "abc"}}


def test_target_table_is_first_on_the_page_with_before_beside_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _results()
    before["workloads"]["ingest"]["results"]["patterdash"]["pairs_c1"] = {"rps": 40.0, "p50_ms": 3.0, "p99_ms": 9.0}
    (tmp_path / "base.json").write_text(json.dumps({**before, "mode": "quick", "machine": {"commit": "41799bc"}}))
    (tmp_path / "now.json").write_text(json.dumps(_results()))
    monkeypatch.setattr(targets, "BASELINE", tmp_path / "base.json")
    monkeypatch.setattr(render, "DOC", tmp_path / "performance.md")
    assert bench_main(["render", "--out", str(tmp_path / "now.json")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("## Targets")
    page = (tmp_path / "performance.md").read_text()
    assert page.index("## Targets") < page.index("_Generated") < page.index("## Figures")
    header = "| target | goal | before (41799bc, quick) | now | status |"
    assert header in printed and header in page
    row = next(line for line in page.splitlines() if line.startswith("| Ingest vs Patter 0.7.0 (in memory)"))
    assert row.split(" | ")[2:] == ["0.50x (40 vs 80 req/s)", "1.25x (100 vs 80 req/s)", "met |"]
    raw = next(line for line in page.splitlines() if line.startswith("| /api/events, whole calls"))
    assert raw.endswith("| 0.40x (4,000 vs 10,000 events/s) | 0.40x (4,000 vs 10,000 events/s) | met |")
    assert "| Single-event ack latency p99 at c=1 | < 5 ms | 9.0 ms | 4.0 ms | met |" in page
    assert "10 acknowledged, 10 in the log after SIGKILL | met |" in page


def test_store_workload_says_in_one_line_when_postgresql_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tests.pg, "PG_BIN", tmp_path / "no-postgres")
    out = w_store.workload(True)
    assert "not installed" in out["skipped"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("[bench] store skipped: PostgreSQL")


@pytest.mark.slow
def test_durability_counts_acknowledged_events_against_the_log_after_sigkill(tmp_path: Path) -> None:
    with start_patterdash(tmp_path / "d.db") as server:
        spec = {"mode": "closed", "url": server.url, "duration": 60, "warmup": 0, "kind": "pairs", "prefix": "d"}
        res = run_client({**spec, "concurrency": 2, "stop_after_units": 5})
        assert res["acked_events"] == 10
        assert _durability(server, res["acked_events"]) == {"acked_events": 10, "rows_after_sigkill": 10}
        assert server.proc.returncode == -9


def test_same_run_before_server_fills_the_ingest_rows_of_the_before_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _results(before="41799bc")
    ours = run["workloads"]["ingest"]["results"]
    ours["before"] = {**ours["patterdash"], "pairs_c1": {"rps": 20.0, "p50_ms": 2.0, "p99_ms": 7.0}}
    base = {
        "workloads": {
            "startup": {  # the ratio of the best runs (2.2 / 2.0), not of the medians
                "sizes": {"10000": {"rss_kb": 100, "ready_s": [2.0, 9.0]}, "100000": {"rss_kb": 110, "ready_s": [2.2]}}
            }
        },
        "mode": "quick",
    }
    (tmp_path / "base.json").write_text(json.dumps(base))
    monkeypatch.setattr(targets, "BASELINE", tmp_path / "base.json")
    text = targets.table(run["workloads"])
    assert "| target | goal | before (41799bc) | now | status |" in text
    assert "| >= 1.0x | 0.25x (20 vs 80 req/s) | 1.25x (100 vs 80 req/s) | met |" in text
    assert "| <= 1.5x | 1.10x (100,000 vs 10,000 events) | n/a | n/a |" in text  # from the baseline file
    assert "same run" in targets.before_note(run["workloads"])


@pytest.mark.slow
def test_export_tree_serves_an_older_commit(tmp_path: Path) -> None:
    tree = export_tree("HEAD", tmp_path / "tree")
    assert (tree / "patterdash" / "service.py").exists() and (tree / "patterdash_cli" / "main.py").exists()
    with start_patterdash(tmp_path / "old.db", tree=tree) as server:
        res = run_client(
            {
                "mode": "closed",
                "url": server.url,
                "duration": 60,
                "warmup": 0,
                "kind": "pairs",
                "prefix": "t",
                "concurrency": 1,
                "stop_after_units": 2,
            }
        )
        assert res["acked_events"] == 4
        pid = server.pid
        with open(f"/proc/{pid}/environ", "rb") as f:
            assert f"PYTHONPATH={tree}".encode() in f.read()


def test_clients_run_in_one_worker_process_that_reports_failures_and_serves_on() -> None:
    from bench.common import _Worker

    with pytest.raises(RuntimeError, match="unknown mode nope"):
        run_client({"mode": "nope"})
    first = _Worker.get().pid
    with pytest.raises(RuntimeError, match="unknown kind odd"):
        run_client({"mode": "closed", "url": "http://127.0.0.1:9", "kind": "odd", "concurrency": 0, "duration": 0})
    assert _Worker.get().pid == first
    _Worker.stop()
    assert _Worker.proc is None
