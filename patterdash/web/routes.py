"""Thin HTTP handlers: parse, call the service or read the projection, answer JSON.

Which path, method and scope each one answers is declared in ``web/table.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from patterdash.auth import SCOPES
from patterdash.core.events import ADMIN_EVENT_TYPES
from patterdash.core.query import DIRECTIONS, CallFilter, parse_when
from patterdash.export import export_chunks, log_records
from patterdash.sources.ingest import events_from_body, parse_json, patter_body
from patterdash.store import Store
from patterdash.web.chunked import json_array
from patterdash.web.errors import ApiError
from patterdash.web.grants import GRANT, require
from patterdash.web.keys import SERVICE
from patterdash.web.rejections import REJECTIONS, WINDOW_SECONDS

__all__ = [
    "active_calls",
    "aggregates",
    "delete_call",
    "delete_calls",
    "export_calls",
    "get_call",
    "healthz",
    "ingest_events",
    "ingest_patter",
    "ingest_rejections",
    "list_calls",
    "me",
]

_JSON = "application/json"


def _json(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=_JSON, headers=headers)


def _lenient_int(request: web.Request, name: str, default: int, *, hi: int | None = None) -> int:
    """Patter 0.7.0's parameter rule: clamp into range, and a non-integer means the default (never a 400)."""
    try:
        value = int(request.query.get(name, str(default)))
    except ValueError:
        return default
    value = max(0, value)
    return value if hi is None else min(value, hi)


def _when_param(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return parse_when(raw)
    except ValueError as e:
        raise ApiError(400, f"invalid {name}", str(e)) from e


def _call_filter(request: web.Request) -> CallFilter:
    """The list filters of a query string: the calls table and its export read the same ones."""
    direction = request.query.get("direction") or None
    if direction is not None and direction not in DIRECTIONS:
        raise ApiError(400, "invalid direction", "direction must be inbound or outbound")
    return CallFilter(
        status=request.query.get("status") or None,
        direction=direction,
        q=request.query.get("q") or None,
        from_ts=_when_param(request, "from"),
        to_ts=_when_param(request, "to"),
    )


# -- reads --------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    """Liveness, the log's last seq, which store holds it and whether it takes appends (no auth)."""
    service = request.app[SERVICE]
    health = {"ok": True, "seq": service.projection.last_seq, "writable": service.writable}
    return _json({**health, "backend": service.backend})


async def list_calls(request: web.Request) -> web.StreamResponse:
    """Completed calls in the ring, newest first, filtered and paginated."""
    limit = _lenient_int(request, "limit", 50, hi=1000)
    offset = _lenient_int(request, "offset", 0)
    view = request.query.get("view", "full")
    if view not in ("full", "summary"):
        raise ApiError(400, "invalid view", "view must be full or summary")
    only = _call_filter(request)
    states = request.app[SERVICE].projection.calls()
    matched = list(states) if only.empty else [s for s in states if only.keeps(s.record)]
    page = matched[offset : offset + limit]
    parts = (s.summary_json() if view == "summary" else s.full_json() for s in page)
    return await json_array(request, parts, headers={"X-Total-Count": str(len(matched))})


async def get_call(request: web.Request) -> web.Response:
    """One call: from memory (ring or active), else folded from the log."""
    service = request.app[SERVICE]
    call_id = request.match_info["call_id"]
    state = service.projection.get(call_id)
    if state is not None:
        return web.Response(body=state.full_json(), content_type=_JSON)
    record = await service.call_from_log(call_id)
    if record is None:
        raise ApiError(404, "call not found", {"call_id": call_id})
    return _json(record)


async def active_calls(request: web.Request) -> web.StreamResponse:
    """Calls in progress, with live transcript and turns; paged (``limit``, ``offset``, ``X-Total-Count``)."""
    active = request.app[SERVICE].projection.active
    limit = _lenient_int(request, "limit", 1000, hi=1000)
    offset = _lenient_int(request, "offset", 0)
    page = list(active.values())[offset : offset + limit]  # a snapshot: the dict changes while we write
    return await json_array(request, (s.full_json() for s in page), headers={"X-Total-Count": str(len(active))})


async def aggregates(request: web.Request) -> web.Response:
    """Aggregates over the ring, maintained incrementally (O(1) to read)."""
    proj = request.app[SERVICE].projection
    return _json(proj.aggregates.snapshot(active_calls=len(proj.active)))


async def export_calls(request: web.Request) -> web.StreamResponse:
    """CSV / JSON / NDJSON download of the ring (default) or the whole log (``scope=all``), list filters applied."""
    service = request.app[SERVICE]
    fmt = request.query.get("format", "json")
    per = request.query.get("per", "call")
    scope = request.query.get("scope", "ring")
    if fmt not in ("csv", "json", "ndjson"):
        raise ApiError(400, "invalid format", "format must be csv, json or ndjson")
    if per not in ("call", "turn"):
        raise ApiError(400, "invalid per", "per must be call or turn")
    if scope not in ("ring", "all"):
        raise ApiError(400, "invalid scope", "scope must be ring or all")
    only = _call_filter(request)
    ext = {"csv": "csv", "json": "json", "ndjson": "ndjson"}[fmt]
    ctype = {"csv": "text/csv", "json": _JSON, "ndjson": "application/x-ndjson"}[fmt]
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{ctype}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="patterdash_calls.{ext}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    if scope == "ring":
        records = [s.record for s in reversed(list(service.projection.calls())) if only.keeps(s.record)]
        for chunk in export_chunks(records, fmt=fmt, per=per):  # type: ignore[arg-type]
            await response.write(chunk)
            await asyncio.sleep(0)  # one record per loop turn: a big export never stalls the others
    else:
        await _stream_from_log(service.run_reader, response, only, fmt, per)
    await response.write_eof()
    return response


async def _stream_from_log(run_reader: Any, response: web.StreamResponse, only: CallFilter, fmt: str, per: str) -> None:
    """Stream every completed call from the log, producing chunks on a reader thread."""

    def records(log: Store) -> Iterator[dict[str, Any]]:
        # the same reader as ``patterdash export``: one code path for both
        return log_records(log, only=only)

    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)
    loop = asyncio.get_running_loop()
    stop = threading.Event()  # the client went away: the reader thread must not wait on it forever

    def put(item: bytes | None) -> bool:
        handed = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while not stop.is_set():
            try:
                handed.result(timeout=0.1)
                return True
            except TimeoutError:
                continue
        handed.cancel()
        return False

    def produce(log: Store) -> None:
        try:
            for chunk in export_chunks(records(log), fmt=fmt, per=per):  # type: ignore[arg-type]
                if not put(chunk):
                    return
        finally:
            put(None)  # also after an error, so the handler stops waiting and sees it

    producer = asyncio.ensure_future(run_reader(produce))
    try:
        while (chunk := await queue.get()) is not None:
            await response.write(chunk)
    finally:
        stop.set()
    await producer


async def me(request: web.Request) -> web.Response:
    """Who this session is: its scope and what it may do (everything on an open server)."""
    if request.app[SERVICE].tokens.open:
        return _json({"open": True, "scope": None, "rights": list(SCOPES)})
    grant = request.get(GRANT)
    scope = grant.scope if grant is not None else None
    rights = [s for s in SCOPES if grant is not None and grant.allows(s)]
    return _json({"open": False, "scope": scope, "rights": rights})


async def ingest_rejections(request: web.Request) -> web.Response:
    """Ingest requests refused in the last hour, by reason (the UI's banner for admins)."""
    total, by_reason = request.app[REJECTIONS].recent(now=request.app[SERVICE].clock())
    return _json({"window_seconds": WINDOW_SECONDS, "total": total, "by_reason": by_reason})


# -- ingest -------------------------------------------------------------------


_BODY_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)


async def _body(request: web.Request) -> bytes:
    # JSON only: a cross-site <form> posts text/plain or form bodies without a CORS preflight,
    # which would let any web page write to (or delete from) an open dashboard on localhost.
    if request.content_type not in _BODY_TYPES:
        raise ApiError(
            415,
            "unsupported content type",
            "send Content-Type: application/json (or application/x-ndjson to /api/events)",
        )
    return await request.read()  # raises 413 past client_max_size


async def ingest_patter(request: web.Request) -> web.Response:
    """The Patter SDK's notify payload, unchanged."""
    started = time.perf_counter()
    service = request.app[SERVICE]
    event, kind = patter_body(await _body(request), now=service.clock())
    appended = await service.append_checked([event])
    service.stats.observe_ingest(time.perf_counter() - started)
    answer = {"ok": True, "call_id": event["call_id"], "event": kind, "seq": appended.seqs[0]}
    return _json({**answer, "conflict": appended.conflicts[0]})


async def ingest_events(request: web.Request) -> web.Response:
    """One native event, a JSON array, or NDJSON lines; appended all or none."""
    started = time.perf_counter()
    service = request.app[SERVICE]
    events = events_from_body(await _body(request), request.content_type, now=service.clock())
    administrative = sorted({e["type"] for e in events} & ADMIN_EVENT_TYPES)
    if administrative:  # the scope follows the event type, not only the route
        require(request, "admin", why=f"{', '.join(administrative)} events administer the log")
    appended = await service.append_checked(events)
    service.stats.observe_ingest(time.perf_counter() - started)
    ids = [e["id"] for e in events]
    return _json({"ok": True, "count": len(ids), "seqs": appended.seqs, "ids": ids, "conflicts": appended.conflicts})


# -- deletes ------------------------------------------------------------------


async def delete_call(request: web.Request) -> web.Response:
    """Soft-delete one call."""
    deleted = await request.app[SERVICE].delete([request.match_info["call_id"]])
    return _json({"deleted": deleted, "count": len(deleted)})


async def delete_calls(request: web.Request) -> web.Response:
    """Soft-delete a batch: ``{"call_ids": [...]}``."""
    body = parse_json(await _body(request))
    ids = body.get("call_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids) or len(ids) > 10_000:
        raise ApiError(422, 'expected {"call_ids": [...]}', "call_ids must be a list of non-empty strings")
    deleted = await request.app[SERVICE].delete(ids)
    return _json({"deleted": deleted, "count": len(deleted)})
