"""Authentication middleware, security headers, and the redacting access log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from patterdash.core.redact import redact_text
from patterdash.web.errors import json_error
from patterdash.web.grants import GRANT
from patterdash.web.keys import COOKIE, SERVICE
from patterdash.web.static import login_page
from patterdash.web.table import route_for

__all__ = ["RedactingAccessLogger", "auth_middleware", "required_scope", "security_headers"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def required_scope(request: web.Request) -> str | None:
    """The scope the matched route declares in ``web/table.py``; None for the public ones.

    A request that matched no route (404/405) needs ``read``, so probing paths tells nothing.
    """
    route = route_for(request)
    if route is None:
        return "read"
    return None if route.scope == "public" else route.scope


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
    if needed != "any" and not grant.allows(needed):
        return json_error(403, "forbidden", f"this token's scope ({grant.scope}) does not allow {needed}")
    service.note_token_use(grant.token_id)
    request[GRANT] = grant
    return await handler(request)


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
