"""The scope follows the event type: an administrative event needs admin on every ingest route."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.auth import rotate_token
from patterdash.core.events import ADMIN_EVENT_TYPES, EVENT_TYPES, SERVER_EVENT_TYPES
from patterdash.store.sqlite import EventLog
from tests.conftest import StartClient
from tests.factories import full_call, metrics

Client = TestClient[Any, Any]
INGEST_ROUTES = ("/api/events", "/api/dashboard/ingest")
SCOPES = ("read", "ingest", "admin")

_DATA: dict[str, dict[str, Any]] = {
    "call_initiated": {"caller": "+15550001111", "callee": "+15550002222"},
    "call_start": {"caller": "+15550001111", "callee": "+15550002222"},
    "call_status": {"status": "ringing"},
    "transcript_line": {"turnIndex": 0, "role": "user", "text": "hi"},
    "turn_complete": {"turn": {"turn_index": 0, "user_text": "hi", "agent_text": "hello"}},
    "call_end": {"metrics": metrics("probe")},
    "call_event": {"kind": "tool_call", "name": "lookup", "detail": {}},
    "calls_deleted": {"call_ids": ["victim"]},  # the victim's id is set per case
    # written only by the server's alert evaluator: refused from every producer, admin included
    "alert_fired": {"rule": "probe", "metric": "calls", "op": "<", "threshold": 1},
    "alert_resolved": {"rule": "probe"},
    # written only by the server's recording store: a producer must not point a call at a file
    "recording_stored": {"file": "0" * 24 + "-" + "0" * 16 + ".ogg", "bytes": 10},
    "calls_purged": {"call_ids": ["victim"]},
}


def test_every_event_type_has_a_probe_payload() -> None:
    assert set(_DATA) == set(EVENT_TYPES)
    assert "calls_deleted" in ADMIN_EVENT_TYPES
    assert {"alert_fired", "alert_resolved"} <= SERVER_EVENT_TYPES


async def _secret(db_path: Path, scope: str) -> str:
    log = EventLog(db_path)
    secret, _ = rotate_token(log, scope=scope, grace=0, now=time.time())  # type: ignore[arg-type]
    log.close()
    return secret


@pytest.mark.parametrize("scope", SCOPES)
async def test_every_event_type_on_every_ingest_route_for_every_scope(
    start_client: StartClient, db_path: Path, scope: str
) -> None:
    admin = await _secret(db_path, "admin")
    secret = admin if scope == "admin" else await _secret(db_path, scope)
    client = await start_client()
    as_admin = {"Authorization": f"Bearer {admin}"}
    auth = {"Authorization": f"Bearer {secret}"}
    for route in INGEST_ROUTES:
        for event_type in EVENT_TYPES:
            victim_id = f"victim-{route.rsplit('/', 1)[-1]}-{event_type}"
            seeded = await client.post("/api/events", json=full_call(victim_id), headers=as_admin)
            assert seeded.status == 200
            data = {"call_ids": [victim_id]} if event_type == "calls_deleted" else _DATA[event_type]
            body: dict[str, Any] = {"type": event_type, "call_id": "probe", "data": data}
            if route == "/api/dashboard/ingest":
                body = {"call_id": "probe", **data}  # the Patter shape carries no type
            async with client.post(route, json=body, headers=auth) as resp:
                status, answer = resp.status, await resp.json()
            administrative = route == "/api/events" and event_type in ADMIN_EVENT_TYPES
            server_only = route == "/api/events" and event_type in SERVER_EVENT_TYPES
            expected = 403 if scope == "read" or (scope == "ingest" and administrative) else 200
            expected = 422 if server_only and scope != "read" else expected
            assert status == expected, (route, event_type, scope, answer)
            if status == 403:
                assert answer["error"] == "forbidden"
            victim = await client.get(f"/api/dashboard/calls/{victim_id}", headers=as_admin)
            deleted_by_this = scope == "admin" and route == "/api/events" and event_type in ADMIN_EVENT_TYPES
            assert victim.status == (404 if deleted_by_this else 200), (route, event_type, scope)


async def test_a_forbidden_administrative_event_appends_nothing_of_its_batch(
    start_client: StartClient, db_path: Path
) -> None:
    secret = await _secret(db_path, "ingest")
    client = await start_client()
    auth = {"Authorization": f"Bearer {secret}"}
    batch = [*full_call("kept"), {"type": "calls_deleted", "data": {"call_ids": ["kept"]}}]
    before = (await (await client.get("/healthz")).json())["seq"]
    resp = await client.post("/api/events", json=batch, headers=auth)
    assert resp.status == 403
    assert (await (await client.get("/healthz")).json())["seq"] == before
