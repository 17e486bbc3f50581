"""One JSON error shape for every failure: ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, BadStatusLine, LineTooLong, PayloadEncodingError

from patterdash.core.events import EventValidationError
from patterdash.service import ServiceStopped, TooManyActiveCalls
from patterdash.sources.ingest import BadPayload
from patterdash.store import LogError

__all__ = ["ApiError", "error_middleware", "json_error", "protocol_error"]

log = logging.getLogger("patterdash.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error a handler raises to answer with a given status."""

    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


def json_error(status: int, error: str, detail: Any = None, *, headers: dict[str, str] | None = None) -> web.Response:
    """The JSON error response."""
    return web.json_response({"error": error, "detail": detail}, status=status, headers=headers)


def protocol_error(status: int, exc: BaseException | None) -> tuple[int, str, str]:
    """Status, error and detail for a request aiohttp could not parse (or a crash outside the app).

    Generic on purpose: the parser's message quotes the request line, which can hold ``?token=``.
    """
    if status >= 500:
        return 500, "internal error", "the server failed to answer this request"
    if isinstance(exc, LineTooLong):
        return 431, "request header too large", "the request line and each header field must fit in 8190 bytes"
    if isinstance(exc, BadHttpMethod):
        return 400, "bad request method", "the method is not one this server knows (or HTTPS was sent to an HTTP port)"
    if isinstance(exc, BadStatusLine):
        return 400, "bad request line", "expected METHOD /path HTTP/1.1"
    if isinstance(exc, PayloadEncodingError):
        return 400, "bad request body encoding", "the body does not match its Content-Length or Transfer-Encoding"
    return 400, "bad request", "the request could not be parsed as HTTP/1.1"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every exception to the JSON error shape; bad input never takes the server down."""
    try:
        return await handler(request)
    except ApiError as e:
        return json_error(e.status, e.error, e.detail)
    except BadPayload as e:
        return json_error(400, str(e), e.detail)
    except EventValidationError as e:
        return json_error(422, "invalid event", e.detail)
    except web.HTTPRequestEntityTooLarge as e:
        return json_error(413, "request body too large", e.text)
    except TooManyActiveCalls as e:
        detail = {"max_active_calls": e.limit, "call_ids": e.call_ids[:20]}
        return json_error(429, "too many active calls", detail, headers={"Retry-After": "5"})
    except ServiceStopped as e:
        return json_error(503, str(e), None, headers={"Retry-After": "1"})
    except LogError as e:
        return json_error(503, "event log unavailable", str(e), headers={"Retry-After": "1"})
    except asyncio.CancelledError:
        raise
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return json_error(
            e.status,
            e.reason,
            None,
            headers={k: v for k, v in e.headers.items() if k.lower() == "allow"},
        )
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error", None)
