"""The history answer without rollups, two ways, for ``bench.history``'s same-run ratio.

``sql_scan``: the honest fast naive answer, one SQL pass over the log's call_end events (joined
to the calls summary to skip deleted calls) for the sums per (series bucket, status), and one
for the turn-latency histogram (``json_each`` over each call's turns): the same totals and
series as the rollups, computed from the log itself. It reads each call from its call_end
alone, which holds for the bench's log (every call is a call_start and one call_end that repeats
the start's fields); a log whose calls are patched by later events needs the Python fold.
``python_fold``: the slow naive answer, fold each call from all its events and count it (what
the rebuild does), timed on a uniform sample of the calls when the log is big.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from patterdash.core.events import LoggedEvent
from patterdash.core.history import Window, assemble, rows_of_facts
from patterdash.core.projection import fold_call
from patterdash.core.rollups import HIST_BINS, HIST_FLOOR_MS, HIST_GROWTH, fact_of
from patterdash.store import Store

__all__ = ["python_fold", "sql_scan"]

_COSTS = ("total", "stt", "tts", "llm", "telephony")
# the pass over the log: each call_end parsed once (SQLite caches a parsed document within a row)
_ENDS_SQL = (
    "CREATE TEMP TABLE ends AS SELECT json_extract(data, '$.started_at') AS s, json_extract(data, '$.status') AS st,"
    " json_extract(data, '$.metrics.duration_seconds') AS d,"
    + "".join(f" json_extract(data, '$.metrics.cost.{k}') AS c_{k}," for k in _COSTS)
    + " json_extract(data, '$.metrics.latency_avg.agent_response_ms') AS a_agent_response_ms,"
    " json_extract(data, '$.metrics.latency_avg.total_ms') AS a_total_ms,"
    " json_extract(data, '$.metrics.turns') AS turns"
    " FROM events WHERE type = 'call_end' AND call_id NOT IN (SELECT call_id FROM calls WHERE deleted = 1)"
    " AND json_extract(data, '$.started_at') >= ? AND json_extract(data, '$.started_at') < ?"
)
_US = "CAST(round(coalesce({}, 0) * 1000000) AS INTEGER)"  # aggregates' _micro (no .5 ties in this log)
_LAT = "coalesce(nullif({0}agent_response_ms, 0), {0}total_ms, 0)"  # turn_latency_ms
_T = "CAST(s / ? AS INTEGER) * ?"  # the series bucket of a start
_SUMS_SQL = (
    f"SELECT {_T} AS t, st, count(*), sum({_US.format('d')}),"
    + " ".join(f"sum({_US.format('c_' + k)})," for k in _COSTS)
    + f" sum({_US.format(_LAT.format('a_'))}), sum({_LAT.format('a_')} > 0), sum(json_array_length(turns))"
    " FROM ends GROUP BY t, st"
)
_BIN = (
    f"CASE WHEN lat < {HIST_FLOOR_MS} THEN 0"
    f" ELSE min({HIST_BINS - 1}, 1 + CAST(ln(lat / {HIST_FLOOR_MS}) / {math.log(HIST_GROWTH)!r} AS INTEGER)) END"
)
_TURN = _LAT.format("json_extract(turn.value, '$.latency.").replace("_ms,", "_ms'),").replace("_ms, 0)", "_ms'), 0)")
_HIST_SQL = (
    f"SELECT t, {_BIN} AS bin, count(*) FROM (SELECT {_T} AS t, {_TURN} AS lat"
    " FROM ends, json_each(ends.turns) AS turn) WHERE lat > 0 GROUP BY t, bin"
)


def sql_scan(path: Path, win: Window) -> dict[str, Any]:
    """The answer from one SQL pass over the range's call_end events, then sums and bins of what it read."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute(_ENDS_SQL, (win.lo, win.hi))
        rows = conn.execute(_SUMS_SQL, (win.bucket, win.bucket)).fetchall()
        hist = conn.execute(_HIST_SQL, (win.bucket, win.bucket)).fetchall()
    finally:
        conn.close()
    return assemble(rows, hist, win)


def _sampled_calls(store: Store, every: int) -> Iterator[list[LoggedEvent]]:
    """Every ``every``-th completed call's events (a uniform sample), a few hundred calls at a time."""
    ids: list[str] = []
    for n, call_id in enumerate(store.call_ids()):
        if n % every == 0:
            ids.append(call_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        by_call: dict[str, list[LoggedEvent]] = {c: [] for c in chunk}
        for ev in store.events_for_calls(chunk):
            by_call[ev.call_id].append(ev)
        yield from by_call.values()


def python_fold(store: Store, win: Window, every: int = 1) -> tuple[dict[str, Any], int]:
    """The answer from folding every ``every``-th call of the log (all when 1), and how many it folded."""
    folded = 0

    def facts() -> Iterator[Any]:
        nonlocal folded
        for events in _sampled_calls(store, every):
            record = fold_call(events)
            folded += 1
            if record is not None and record.get("status") and win.lo <= (record.get("started_at") or 0) < win.hi:
                yield fact_of(record)

    rows, hist = rows_of_facts(facts())
    return assemble(rows, hist, win), folded
