"""The route table is the one place a route's method, path, handler and scope are declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from patterdash.web import routes as handlers
from patterdash.web.app import create_app
from patterdash.web.table import ROUTES, TABLE_ENTRY, Route
from tests.conftest import TOKEN

Client = TestClient[Any, Any]
OPENAPI = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("scope", ["read", "public", "any"])
def test_a_write_route_that_does_not_declare_ingest_or_admin_is_refused(method: Any, scope: Any) -> None:
    with pytest.raises(ValueError, match="must declare scope"):
        Route(method, "/api/new", handlers.healthz, scope=scope)


def test_loopback_ingest_only_on_ingest_routes() -> None:
    with pytest.raises(ValueError, match="loopback_ingest"):
        Route("POST", "/api/new", handlers.healthz, scope="admin", loopback_ingest=True)


def test_every_route_the_app_answers_comes_from_the_table(make_settings: Any) -> None:
    app = create_app(make_settings())
    registered = list(app.router.routes())
    assert registered and all(route in app[TABLE_ENTRY] for route in registered)
    assert {(r.method, r.path) for r in app[TABLE_ENTRY].values()} == {(r.method, r.path) for r in ROUTES}


def test_openapi_paths_are_the_tables_api_routes() -> None:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    documented = {(m.upper(), p, op["x-scope"]) for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert documented == {(r.method, r.path, r.scope) for r in ROUTES if r.api}


async def test_a_read_token_cannot_reach_a_write_route(start_client: Any, db_path: Path) -> None:
    import time

    from patterdash.auth import rotate_token
    from patterdash.store.sqlite import EventLog

    log = EventLog(db_path)
    secret, _ = rotate_token(log, scope="read", grace=0, now=time.time())
    log.close()
    client: Client = await start_client(token=TOKEN)
    for route in ROUTES:
        if route.method != "GET" and route.scope != "signed":  # signed: a LiveKit JWT, not a patterdash token
            path = route.path.replace("{call_id}", "x")
            async with client.request(route.method, path, headers={"Authorization": f"Bearer {secret}"}) as resp:
                assert resp.status == 403, (route.method, route.path)
