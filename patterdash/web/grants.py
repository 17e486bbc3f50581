"""Who a request is (its token's Grant), and the in-handler check for rights beyond the route's scope."""

from __future__ import annotations

from aiohttp import web

from patterdash.auth import Grant
from patterdash.web.errors import ApiError

__all__ = ["GRANT", "require"]

# the request's Grant; absent on an open server (everything allowed)
GRANT = web.RequestKey("grant", Grant)


def require(request: web.Request, needed: str, *, why: str) -> None:
    """Refuse (403) a request whose token lacks ``needed``; a handler's check beyond its route's scope."""
    grant: Grant | None = request.get(GRANT)
    if grant is not None and not grant.allows(needed):
        raise ApiError(403, "forbidden", f"this token's scope ({grant.scope}) does not allow {needed}: {why}")
