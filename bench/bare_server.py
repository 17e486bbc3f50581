"""The HTTP ceiling of one Python process: aiohttp handlers that parse the JSON body and answer 200.

Nothing is validated or stored. ``python -m bench.bare_server --port N``.
"""

from __future__ import annotations

import argparse

import orjson
from aiohttp import web

from patterdash.web.server import event_loop_factory

_OK = orjson.dumps({"ok": True})


async def ingest(request: web.Request) -> web.Response:
    """Parse the body exactly as patterdash does (orjson), store nothing."""
    orjson.loads(await request.read())
    return web.Response(body=_OK, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=_OK, content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/api/dashboard/ingest", ingest)
    app.router.add_post("/api/events", ingest)
    app.router.add_get("/healthz", healthz)
    # the same event loop as `patterdash serve` (uvloop where installed), for a fair ceiling
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=event_loop_factory()())


if __name__ == "__main__":
    main()
