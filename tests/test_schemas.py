"""The committed schemas/ must be exactly what the code generates."""

from __future__ import annotations

from pathlib import Path

from patterdash.schemas import render

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_committed_schemas_are_fresh() -> None:
    expected = render()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    stale = sorted(n for n in expected if committed.get(n) != expected[n])
    extra = sorted(set(committed) - set(expected))
    assert not stale and not extra, f"run `just schemas`: stale={stale} extra={extra}"


def test_openapi_lists_every_route() -> None:
    import json

    spec = json.loads((SCHEMAS / "openapi.json").read_text())
    assert {
        "/healthz",
        "/api/dashboard/calls",
        "/api/dashboard/calls/{call_id}",
        "/api/dashboard/active",
        "/api/dashboard/aggregates",
        "/api/dashboard/events",
        "/api/dashboard/export/calls",
        "/api/dashboard/ingest",
        "/api/events",
        "/api/dashboard/calls/delete",
        "/metrics",
        "/api/alerts",
    } <= set(spec["paths"])
