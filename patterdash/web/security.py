"""Authentication middleware, security headers, and the redacting access log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from patterdash.auth import Grant
from patterdash.core.redact import redact_text
from patterdash.web.errors import ApiError, json_error
from patterdash.web.keys import COOKIE, SERVICE
from patterdash.web.static import login_page

__all__ = ["RedactingAccessLogger", "auth_middleware", "require", "required_scope", "security_headers"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_INGEST = frozenset({"/api/dashboard/ingest", "/api/events"})
# the request's Grant; absent on an open server (everything allowed)
_GRANT = web.RequestKey("grant", Grant)


def required_scope(request: web.Request) -> str | None:
    """The scope a route needs; None for the public ones (health, hashed assets)."""
    path = request.path
    if path == "/healthz" or path.startswith("/assets/"):
        return None
    if request.method == "POST" and path in _INGEST:
        return "ingest"
    if request.method == "DELETE" or path == "/api/dashboard/calls/delete":
        return "admin"
    return "read"


def presented_token(request: web.Request) -> str | None:
    """The token a request carries: Bearer header, then ``?token=``, then the session cookie."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    if "token" in request.query:
        return request.query["token"]
    return request.cookies.get(COOKIE)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the token against the route's scope; open when no token is configured."""
    service = request.app[SERVICE]
    needed = required_scope(request)
    if needed is None or service.tokens.open:
        return await handler(request)
    grant = service.tokens.verify(presented_token(request), now=service.clock())
    if grant is None:
        if request.path == "/" and request.method == "GET":
            return login_page(wrong="token" in request.query)
        return json_error(401, "unauthorized", "a valid token is required", headers={"WWW-Authenticate": "Bearer"})
    if not grant.allows(needed):
        return json_error(403, "forbidden", f"this token's scope ({grant.scope}) does not allow {needed}")
    service.note_token_use(grant.token_id)
    request[_GRANT] = grant
    return await handler(request)


def require(request: web.Request, needed: str, *, why: str) -> None:
    """Refuse (403) a request whose token lacks ``needed``; a handler's check beyond its route's scope."""
    grant: Grant | None = request.get(_GRANT)
    if grant is not None and not grant.allows(needed):
        raise ApiError(403, "forbidden", f"this token's scope ({grant.scope}) does not allow {needed}: {why}")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: strict CSP and friends on every response, streams included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log lines without ``?token=`` values or phone numbers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        line = f'{request.remote} "{request.method} {request.path_qs}" {response.status} {time * 1000:.1f}ms'
        self.logger.info(redact_text(line))

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
