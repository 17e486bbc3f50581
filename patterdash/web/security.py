"""Authentication middleware, security headers, and the redacting access log."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from patterdash.auth import Grant
from patterdash.core.redact import redact_text
from patterdash.web.errors import json_error
from patterdash.web.grants import GRANT
from patterdash.web.keys import COOKIE, SERVICE, SETTINGS
from patterdash.web.rejections import REJECTIONS, reason_of
from patterdash.web.static import login_page, rejected_url, safe_next
from patterdash.web.table import route_for

__all__ = [
    "LOOPBACK_GRANT",
    "FailureAccessLogger",
    "RedactingAccessLogger",
    "auth_middleware",
    "is_loopback_address",
    "is_loopback_peer",
    "presented_token",
    "rejections_middleware",
    "required_scope",
    "security_headers",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# A token-less ingest from this machine (see _loopback_ingest): the ingest scope's rights, nothing more.
LOOPBACK_GRANT = Grant(token_id="loopback", scope="ingest")


def required_scope(request: web.Request) -> str | None:
    """The scope the matched route declares in ``web/table.py``; None for the public ones.

    A request that matched no route (404/405) needs ``read``, so probing paths tells nothing.
    """
    route = route_for(request)
    if route is None:
        return "read"
    return None if route.scope in ("public", "signed") else route.scope  # "signed": the handler checks its own


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
    if service.tokens.open or (needed := required_scope(request)) is None:
        return await handler(request)
    token = presented_token(request)
    grant = service.tokens.verify(token, now=service.clock())
    if grant is None and token is None and _loopback_ingest(request):
        grant = LOOPBACK_GRANT
    if grant is None:
        if request.method == "GET" and (request.path == "/" or request.path.startswith("/calls/")):  # SPA pages
            back = safe_next(request.query.get("next") if request.path == "/" else request.path_qs)  # after sign-in
            if "token" in request.query:  # a rejected token must not stay in the address bar
                raise web.HTTPSeeOther(rejected_url(back), headers={"Cache-Control": "no-store"})
            return login_page(wrong=request.query.get("signin") == "rejected", back=back)
        return json_error(401, "unauthorized", "a valid token is required", headers={"WWW-Authenticate": "Bearer"})
    if needed != "any" and not grant.allows(needed):
        return json_error(403, "forbidden", f"this token's scope ({grant.scope}) does not allow {needed}")
    if grant is not LOOPBACK_GRANT:
        service.note_token_use(grant.token_id)
    request[GRANT] = grant
    return await handler(request)


# Never loopback, even from 127.0.0.1: a reverse proxy on this host forwards other machines' requests.
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _loopback_ingest(request: web.Request) -> bool:
    """Whether a token-less request may ingest as this machine's own agent (the Patter SDK's way)."""
    route = route_for(request)
    if route is None or not route.loopback_ingest or not request.app[SETTINGS].loopback_ingest:
        return False
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    return is_loopback_peer(request)


def is_loopback_peer(request: web.Request) -> bool:
    """Whether the TCP peer (not any header, not ``request.remote``'s overrides) is this machine."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer or not isinstance(peer, tuple):
        return False  # a Unix socket or an unknown transport: not trusted
    return is_loopback_address(str(peer[0]))


@lru_cache(maxsize=256)  # a pure verdict per address: an agent's every request comes from the same one
def is_loopback_address(host: str) -> bool:
    """127.0.0.0/8, ::1, and IPv4-mapped 127.x; anything unparsable is not loopback."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@web.middleware
async def rejections_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: sees the final status of every ingest-scoped request, refusals by auth included."""
    response = await handler(request)
    if not 400 <= response.status < 500:
        return response
    route = route_for(request)
    if route is not None and route.scope == "ingest":
        had_token = presented_token(request) is not None
        request.app[REJECTIONS].note(
            client=_peer(request),
            reason=reason_of(response.status, had_token=had_token),
            status=response.status,
            path=request.path,
            now=request.app[SERVICE].clock(),
        )
    return response


def _peer(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if peer else "unknown"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: strict CSP and friends on every response, streams included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log lines (``--access-log``) without ``?token=`` values or phone numbers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if self.wanted(request, response):
            line = f'{request.remote} "{request.method} {request.path_qs}" {response.status} {time * 1000:.1f}ms'
            self.logger.info(redact_text(line))

    def wanted(self, request: web.BaseRequest, response: web.StreamResponse) -> bool:
        """Every request gets a line."""
        return True

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class FailureAccessLogger(RedactingAccessLogger):
    """The default: only failed requests get a line, so a busy agent's ingest does not flood the terminal.

    Refused ingest is left to the rate-limited warning of ``rejections_middleware``.
    """

    def wanted(self, request: web.BaseRequest, response: web.StreamResponse) -> bool:
        """Errors and refusals, except ingest refusals (already logged, rate limited)."""
        if response.status < 400:
            return False
        if isinstance(request, web.Request) and 400 <= response.status < 500:
            route = route_for(request)
            return route is None or route.scope != "ingest"
        return True
