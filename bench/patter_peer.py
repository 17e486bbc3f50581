"""The Patter SDK's standalone dashboard (``getpatter dashboard``, getpatter 0.7.0) for side-by-side runs.

It builds the same app as ``getpatter.cli._run_dashboard``: a FastAPI app with
``MetricsStore`` + ``mount_dashboard`` + ``mount_api`` + ``/health`` + the
``POST /api/dashboard/ingest`` route, served by uvicorn on 127.0.0.1.

The one fix: in getpatter 0.7.0 ``cli.py`` has ``from __future__ import
annotations`` and imports ``Request`` inside ``_run_dashboard``, so FastAPI
cannot resolve the string annotation ``"Request"`` of the ingest handler, takes
``request`` for a required query parameter and answers 422 to every POST. Here
``Request`` is imported at module level (and this module has no ``from
__future__ import annotations``), so the same handler body works. Everything
else -- the store, the routes, the handler's logic -- is getpatter's own code.
The banner and telemetry are left out; uvicorn's access log is off (as it is
for every server in the suite).
"""

import argparse

import uvicorn
from fastapi import FastAPI, Request
from getpatter.api_routes import mount_api
from getpatter.dashboard.routes import mount_dashboard
from getpatter.dashboard.store import MetricsStore


def build_app() -> FastAPI:
    """The app ``getpatter dashboard`` serves, with the ingest route's ``Request`` annotation resolvable."""
    store = MetricsStore()
    app = FastAPI(title="Patter Dashboard")
    mount_dashboard(app, store)
    mount_api(app, store)

    @app.get("/health")
    async def health():  # type: ignore[no-untyped-def]
        return {"status": "ok", "mode": "dashboard"}

    # Verbatim from getpatter 0.7.0 cli.py _run_dashboard.
    @app.post("/api/dashboard/ingest")
    async def ingest(request: Request):  # type: ignore[no-untyped-def]
        data = await request.json()
        call_id = data.get("call_id", "")
        if not call_id:
            return {"ok": False, "error": "missing call_id"}
        status = data.get("status")
        if status == "initiated":
            store.record_call_initiated(data)
            return {"ok": True, "call_id": call_id, "event": "initiated"}
        if data.get("ended_at"):
            store.record_call_end(data, metrics=data.get("metrics"))
            return {"ok": True, "call_id": call_id, "event": "ended"}
        store.record_call_start(data)
        return {"ok": True, "call_id": call_id}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(build_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
