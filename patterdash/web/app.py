"""The application factory: middlewares, routes, start-up and clean-up hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from patterdash.service import Service
from patterdash.settings import Settings
from patterdash.web import livekit, otlp
from patterdash.web.alerts import setup_alerts
from patterdash.web.connections import body_deadline_middleware
from patterdash.web.errors import error_middleware
from patterdash.web.hosts import host_middleware
from patterdash.web.keys import SERVICE, SETTINGS
from patterdash.web.rejections import REJECTIONS, IngestRejections
from patterdash.web.security import auth_middleware, rejections_middleware, security_headers
from patterdash.web.table import register

__all__ = ["create_app"]


def create_app(settings: Settings, *, service: Service | None = None) -> web.Application:
    """A ready-to-run app; the service starts with the app and stops (draining) with it."""
    app = web.Application(
        middlewares=[
            rejections_middleware,
            error_middleware,
            host_middleware,
            auth_middleware,
            body_deadline_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[SERVICE] = service or Service(settings)
    app[REJECTIONS] = IngestRejections()
    otlp.install(app, settings)
    livekit.install(app)
    register(app)  # every route, with its scope, is declared in web/table.py
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_service_lifecycle)
    setup_alerts(app)  # after the service: the evaluator starts after it and stops before it
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    """On shutdown, end SSE streams so in-flight appends can drain without waiting on them."""
    app[SERVICE].bus.close()


async def _service_lifecycle(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE]
    await service.start()
    yield
    await service.stop()
