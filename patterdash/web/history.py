"""History over the whole log: time-range aggregates and series, and calls paged over any range.

``status`` and ``direction`` are answered from the rollups (a few thousand rows for 30 days);
``agent`` and ``provider`` scan the per-call facts of the range; ``q`` (numbers, call id,
transcript) folds the range's calls from the log, so it is capped at ``SCAN_LIMIT`` calls.
Deleted calls are in no history answer, as they are in no ring answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from patterdash.core.history import Window, assemble, rows_of_facts, window
from patterdash.core.projection import fold_call, summary_of
from patterdash.core.rollups import CallFact
from patterdash.export import parse_when
from patterdash.store import Store
from patterdash.web.errors import ApiError
from patterdash.web.keys import SERVICE

__all__ = ["SCAN_LIMIT", "Filters", "history", "history_answer", "history_calls"]

SCAN_LIMIT = 50_000  # calls a search (q) may fold per request
_PAGE = 500
_FAR = 1e12  # "no bound": beyond any epoch second a call can carry


@dataclass(frozen=True)
class Filters:
    """The list filters of a history request."""

    statuses: list[str] | None
    direction: str | None
    agent: str | None
    provider: str | None
    q: str | None

    @property
    def scans(self) -> bool:
        """Whether rollup rows cannot answer (a filter they are not keyed by)."""
        return any(v is not None for v in (self.agent, self.provider, self.q))


def _when(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = float(raw) if raw.replace(".", "", 1).isdigit() else parse_when(raw)
    except ValueError as e:
        raise ApiError(400, f"invalid {name}", str(e)) from e
    if not -_FAR < value < _FAR:  # also keeps bucket numbers inside a 64-bit integer
        raise ApiError(400, f"invalid {name}", f"{name} must be a time between year 0 and 9999")
    return value


def _int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(400, f"invalid {name}", f"{name} must be an integer in [{lo}, {hi}]")
    return int(raw)


def _lenient(request: web.Request, name: str, default: int, hi: int) -> int:
    """The calls list's paging rule (Patter's): clamp into [0, hi]; a non-integer is the default."""
    try:
        return min(max(0, int(request.query.get(name, str(default)))), hi)
    except ValueError:
        return default


def _filters(request: web.Request) -> Filters:
    status = request.query.get("status") or None
    direction = request.query.get("direction") or None
    if direction not in (None, "inbound", "outbound"):
        raise ApiError(400, "invalid direction", "direction must be inbound or outbound")
    return Filters(
        statuses=status.split(",") if status else None,
        direction=direction,
        agent=request.query.get("agent") or None,
        provider=request.query.get("provider") or None,
        q=(request.query.get("q") or "").strip().lower() or None,
    )


def _matches(record: dict[str, Any], needle: str) -> bool:
    """The calls list's search: numbers, call id and transcript text, case-insensitive."""
    hay = [record.get("caller") or "", record.get("callee") or "", record.get("call_id") or ""]
    hay += [str(line.get("text", "")) for line in record.get("transcript") or []]
    return any(needle in str(text).lower() for text in hay)


def _facts(store: Store, lo: float, hi: float, f: Filters) -> Iterator[CallFact]:
    """Every fact of the range matching the keyed filters, newest first, a page at a time."""
    before: tuple[float, str] | None = None
    while True:
        page = store.call_facts(
            lo,
            hi,
            statuses=f.statuses,
            direction=f.direction,
            agent=f.agent,
            provider=f.provider,
            limit=_PAGE,
            before=before,
        )
        yield from page
        if len(page) < _PAGE:
            return
        before = (page[-1].started_at, page[-1].call_id)


def _records(store: Store, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    by_call: dict[str, list[Any]] = {c: [] for c in call_ids}
    for ev in store.events_for_calls(call_ids):
        by_call[ev.call_id].append(ev)
    return {c: r for c, evs in by_call.items() if (r := fold_call(evs)) is not None}


def _searched(store: Store, lo: float, hi: float, f: Filters) -> Iterator[tuple[CallFact, dict[str, Any]]]:
    """Facts of the range whose folded call matches ``q`` (at most SCAN_LIMIT calls folded)."""
    assert f.q is not None
    facts = _facts(store, lo, hi, f)
    scanned = 0
    while chunk := [fact for _, fact in zip(range(_PAGE), facts, strict=False)]:
        scanned += len(chunk)
        if scanned > SCAN_LIMIT:
            raise ApiError(
                400, "range too large to search", f"q searches at most {SCAN_LIMIT} calls: narrow from/to or filters"
            )
        records = _records(store, [fact.call_id for fact in chunk])
        for fact in chunk:
            record = records.get(fact.call_id)
            if record is not None and _matches(record, f.q):
                yield fact, record


def history_answer(store: Store, win: Window, f: Filters) -> dict[str, Any]:
    """The history body for a window and filters: from the rollups, or a scan when a filter is not keyed."""
    if not f.scans:
        rows, hist = store.rollup_rows(win.spans(), every=win.bucket, statuses=f.statuses, direction=f.direction)
        return {**assemble(rows, hist, win), "source": "rollups"}
    hi = win.hi - 1e-6  # the window is [lo, hi)
    facts = (fact for fact, _ in _searched(store, win.lo, hi, f)) if f.q else _facts(store, win.lo, hi, f)
    rows, hist = rows_of_facts(facts)
    return {**assemble(rows, hist, win), "source": "scan"}


async def history(request: web.Request) -> web.Response:
    """Aggregates and series for a time range over the whole log (``from``/``to``, filters, ``bucket``)."""
    service = request.app[SERVICE]
    f = _filters(request)
    from_ts, to_ts = _when(request, "from"), _when(request, "to")
    bucket = _int(request, "bucket", 0, 0, 86400) or None

    def run(store: Store) -> dict[str, Any]:
        hi = to_ts if to_ts is not None else service.clock()
        lo = from_ts
        if lo is None:
            span = store.facts_span()
            lo = min(span[0], hi) if span else hi - 3600
        try:
            win = window(lo, hi, bucket)
        except ValueError as e:
            raise ApiError(400, "invalid range", str(e)) from e
        return history_answer(store, win, f)

    body = await service.run_reader(run)
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def history_calls(request: web.Request) -> web.Response:
    """Completed calls of any range over the whole log, newest first by start, with ``X-Total-Count``."""
    service = request.app[SERVICE]
    f = _filters(request)
    lo, hi = _when(request, "from"), _when(request, "to")
    limit, offset = _lenient(request, "limit", 50, 1000), _lenient(request, "offset", 0, 1_000_000)
    view = request.query.get("view", "full")
    if view not in ("full", "summary"):
        raise ApiError(400, "invalid view", "view must be full or summary")

    def run(store: Store) -> tuple[list[dict[str, Any]], int]:
        a, b = (lo if lo is not None else -_FAR), (hi if hi is not None else _FAR)
        if f.q:
            matched = [record for _, record in _searched(store, a, b, f)]
            return matched[offset : offset + limit], len(matched)
        page = store.call_facts(
            a,
            b,
            statuses=f.statuses,
            direction=f.direction,
            agent=f.agent,
            provider=f.provider,
            limit=limit,
            offset=offset,
        )
        total = store.count_call_facts(
            a, b, statuses=f.statuses, direction=f.direction, agent=f.agent, provider=f.provider
        )
        records = _records(store, [fact.call_id for fact in page])
        return [records[x.call_id] for x in page if x.call_id in records], total

    page, total = await service.run_reader(run)
    shaped = [summary_of(r) for r in page] if view == "summary" else page
    return web.Response(
        body=orjson.dumps(shaped), content_type="application/json", headers={"X-Total-Count": str(total)}
    )
