"""The one route table: every HTTP route's method, path, handler and scope, in one place.

To add a route, add one line to ``ROUTES`` (order matters only for the SPA's catch-all, last)::

    Route("POST", "/v1/traces", otlp.ingest_traces, scope="ingest"),

``scope`` is required and says who may call the route when tokens exist:

- ``"read"``: dashboard readers (read or admin tokens); only for GET routes,
- ``"ingest"``: agents posting events (ingest or admin tokens),
- ``"admin"``: deletes and other administration (admin tokens),
- ``"any"``: any valid token (``/api/me``); ``"public"``: no token at all (health, hashed assets),
- ``"signed"``: no patterdash token; the handler verifies the sender's own signature (LiveKit's JWT).

A route that is not a GET must declare ``ingest`` or ``admin``: the table refuses to load otherwise,
so a new POST cannot open up to read tokens by forgetting its scope. The auth middleware
(``web/security.py``), the app factory, the OpenAPI paths (``patterdash.schemas``) and the auth
tests all read this table. ``loopback_ingest=True`` lets a token-less request from a loopback peer
through with the ingest scope (the Patter SDK's own reporting; see the README's trust model).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from patterdash.web import history, livekit, otlp
from patterdash.web import routes as r
from patterdash.web.alerts import list_alerts
from patterdash.web.metrics import metrics
from patterdash.web.sse import events_stream
from patterdash.web.static import asset, index

__all__ = ["ROUTES", "TABLE_ENTRY", "Route", "RouteScope", "register", "route_for"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteScope = Literal["public", "any", "read", "ingest", "admin", "signed"]
_WRITE_SCOPES = frozenset({"ingest", "admin", "signed"})


@dataclass(frozen=True)
class Route:
    """One HTTP route: what it answers, who may call it, whether it belongs in the OpenAPI document."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    handler: Handler
    scope: RouteScope
    loopback_ingest: bool = False
    api: bool = True  # listed in schemas/openapi.json (the SPA's pages are not)

    def __post_init__(self) -> None:
        if self.method != "GET" and self.scope not in _WRITE_SCOPES:
            raise ValueError(f"{self.method} {self.path} must declare scope='ingest' or 'admin', not {self.scope!r}")
        if self.loopback_ingest and self.scope != "ingest":
            raise ValueError(f"{self.method} {self.path}: loopback_ingest is only for ingest routes")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", r.healthz, scope="public"),
    Route("GET", "/api/me", r.me, scope="any"),
    Route("GET", "/api/dashboard/calls", r.list_calls, scope="read"),
    Route("GET", "/api/dashboard/calls/{call_id}", r.get_call, scope="read"),
    Route("DELETE", "/api/dashboard/calls/{call_id}", r.delete_call, scope="admin"),
    Route("POST", "/api/dashboard/calls/delete", r.delete_calls, scope="admin"),
    Route("GET", "/api/dashboard/active", r.active_calls, scope="read"),
    Route("GET", "/api/dashboard/aggregates", r.aggregates, scope="read"),
    Route("GET", "/api/dashboard/events", events_stream, scope="read"),
    Route("GET", "/api/dashboard/export/calls", r.export_calls, scope="read"),
    Route("GET", "/api/dashboard/history", history.history, scope="read"),
    Route("GET", "/api/dashboard/history/calls", history.history_calls, scope="read"),
    Route("GET", "/api/dashboard/ingest/rejections", r.ingest_rejections, scope="admin"),
    Route("POST", "/api/dashboard/ingest", r.ingest_patter, scope="ingest", loopback_ingest=True),
    Route("POST", "/api/events", r.ingest_events, scope="ingest"),
    Route("POST", "/v1/traces", otlp.traces, scope="ingest"),
    Route("GET", "/api/alerts", list_alerts, scope="read"),
    # LiveKit Agents' observability upload: authenticated by a LiveKit JWT in the handler ("signed")
    Route("POST", "/observability/traces/otlp/v0", livekit.traces, scope="signed"),
    Route("POST", "/observability/logs/otlp/v0", livekit.otlp_other, scope="signed"),
    Route("POST", "/observability/metrics/otlp/v0", livekit.otlp_other, scope="signed"),
    Route("POST", "/observability/recordings/v0", livekit.recordings_upload, scope="signed"),
    Route("GET", "/api/dashboard/calls/{call_id}/recording", livekit.recording, scope="read"),
    Route("GET", "/metrics", metrics, scope="read"),
    Route("GET", "/", index, scope="read", api=False),
    Route("GET", "/calls/{call_id}", index, scope="read", api=False),  # the SPA's deep link to a call
    Route("GET", "/{path:assets/.+}", asset, scope="public", api=False),
    # Static files everywhere but under /api/, so a wrong method on an API route is a 405, not a 404.
    Route("GET", "/{path:(?!api/).+}", asset, scope="read", api=False),
)

_KEYS = [(route.method, route.path) for route in ROUTES]
if len(set(_KEYS)) != len(_KEYS):
    raise ValueError("a method and path appear twice in the route table")

# each aiohttp route the app registered -> its table entry (identity-keyed: aiohttp routes have no __eq__)
TABLE_ENTRY = web.AppKey("table_entry", dict[web.AbstractRoute, Route])


def register(app: web.Application) -> None:
    """Add every table route to ``app`` (GET routes answer HEAD too) and remember which is which."""
    entries: dict[web.AbstractRoute, Route] = {}
    for route in ROUTES:
        if route.method == "GET":
            resource = app.router.add_resource(route.path)
            entries[resource.add_route("HEAD", route.handler)] = route
        else:
            resource = app.router.add_resource(route.path)
        entries[resource.add_route(route.method, route.handler)] = route
    app[TABLE_ENTRY] = entries


def route_for(request: web.Request) -> Route | None:
    """The table's entry for the route a request matched; None when it matched none (404/405) or no table route."""
    # A request answered before routing (a protocol error, a deadline) has no match_info: the
    # property asserts, and the access log must not crash on it.
    info: web.UrlMappingMatchInfo | None = getattr(request, "_match_info", None)
    if info is None or info.http_exception is not None:
        return None
    return request.app[TABLE_ENTRY].get(info.route)
