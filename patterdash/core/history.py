"""History answers from rollup rows (pure): the window, the bucket size, totals and series.

The window is whole minutes (rollups' finest grain): ``from`` rounds down and ``to`` up. Series
buckets are UTC multiples of ``bucket`` seconds (the first and last may be partly outside the
window); each reads rows of a grain that divides it, so no row straddles two buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from patterdash.core.rollups import (
    GRAINS,
    HIST_GROWTH,
    OUTCOMES,
    SUM_FIELDS,
    CallFact,
    Deltas,
    Span,
    bin_value,
    cover,
    outcome_of,
)

__all__ = ["BUCKETS", "MAX_POINTS", "Window", "assemble", "choose_bucket", "rows_of_facts", "window"]

BUCKETS = (60, 300, 900, 3600, 21600, 86400)
MAX_POINTS = 1500  # series points one answer may hold
# range span up to -> bucket: about 100-200 points whatever the range
_CHOICES = ((2 * 3600, 60), (12 * 3600, 300), (2 * 86400, 900), (8 * 86400, 3600), (45 * 86400, 21600))
_MICRO = 1_000_000
_I = {name: i for i, name in enumerate(SUM_FIELDS)}
_COSTS = ("stt", "tts", "llm", "telephony")
RESOLUTION = f"turn latency from a histogram of bins {round((HIST_GROWTH - 1) * 100)}% wide: percentiles within ~5%"


@dataclass(frozen=True)
class Window:
    """A minute-aligned [lo, hi) window and its series bucket size."""

    lo: int
    hi: int
    bucket: int

    def spans(self) -> list[Span]:
        """The rollup spans to read: the coarsest grains that divide the bucket and fit."""
        return cover(self.lo, self.hi, [g for g in GRAINS if self.bucket % g == 0])

    def starts(self) -> range:
        """Each series bucket's start."""
        return range((self.lo // self.bucket) * self.bucket, self.hi, self.bucket)


def choose_bucket(span: float) -> int:
    """A bucket size giving a readable number of points for a range of ``span`` seconds."""
    for limit, size in _CHOICES:
        if span <= limit:
            return size
    return 86400


def window(lo: float, hi: float, bucket: int | None) -> Window:
    """The minute-aligned window of [lo, hi]; raises ValueError when it cannot be answered."""
    if hi < lo:
        raise ValueError("from is after to")
    a, b = int(lo // 60) * 60, -int(-hi // 60) * 60
    b = max(b, a + 60)
    size = bucket if bucket is not None else choose_bucket(b - a)
    if size not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(map(str, BUCKETS))} seconds")
    if (b - a) / size > MAX_POINTS:
        raise ValueError(f"{size} s buckets give more than {MAX_POINTS} points over this range: pick a larger bucket")
    return Window(a, b, size)


def rows_of_facts(facts: Iterable[CallFact]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(minute, status, *sums) rows and (minute, bin, turns) histogram rows of some facts (the scan)."""
    deltas = Deltas()
    for fact in facts:
        deltas.add(fact, +1, grains=(60,))
    hist: dict[tuple[int, int], int] = {}
    for (_, bucket, _, _, b), n in deltas.hist.items():
        hist[(bucket, b)] = hist.get((bucket, b), 0) + n
    rows = [[bucket, status, *v] for (_, bucket, status, _), v in deltas.rows.items()]
    return rows, [[t, b, n] for (t, b), n in hist.items()]


@dataclass
class _Acc:
    sums: list[int] = field(default_factory=lambda: [0] * len(SUM_FIELDS))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    statuses: dict[str, int] = field(default_factory=dict)
    hist: dict[int, int] = field(default_factory=dict)

    def add_row(self, status: str, sums: Sequence[int]) -> None:
        for i, v in enumerate(sums):
            self.sums[i] += v
        self.outcomes[outcome_of(status)] += sums[0]
        self.statuses[status] = self.statuses.get(status, 0) + sums[0]

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, as the ring's aggregates compute it, read from the bins."""
        n = sum(self.hist.values())
        if not n:
            return 0.0
        rank, seen = max(1, -(-n * p // 100)), 0
        for b in sorted(self.hist):
            seen += self.hist[b]
            if seen >= rank:
                return round(bin_value(b), 1)
        return 0.0  # pragma: no cover  (rank <= n)

    def answer(self, *, series: bool) -> dict[str, Any]:
        s, calls = self.sums, self.sums[_I["calls"]]
        latency_n = s[_I["latency_n"]]
        out: dict[str, Any] = {
            "calls": calls,
            "outcomes": dict(self.outcomes),
            "total_cost": round(s[_I["cost_us"]] / _MICRO, 6),
            "cost_breakdown": {k: round(s[_I[f"cost_{k}_us"]] / _MICRO, 6) for k in _COSTS},
            "avg_duration": round(s[_I["duration_us"]] / _MICRO / calls, 2) if calls else 0.0,
            "avg_latency_ms": round(s[_I["latency_sum_us"]] / _MICRO / latency_n, 1) if latency_n else 0.0,
        }
        percentiles = (50, 95) if series else (50, 90, 95, 99)
        latency = {f"p{p}": self.percentile(p) for p in percentiles}
        latency["n"] = sum(self.hist.values())
        out["latency_percentiles"] = latency
        if not series:
            out["statuses"] = dict(sorted(self.statuses.items()))
        return out


def assemble(rows: Iterable[Sequence[Any]], hist: Iterable[Sequence[Any]], win: Window) -> dict[str, Any]:
    """Totals and one series point per bucket (empty buckets included) from (t, status, *sums) rows."""
    total = _Acc()
    points = {t: _Acc() for t in win.starts()}
    for bucket, status, *sums in rows:
        total.add_row(status, sums)
        points[(bucket // win.bucket) * win.bucket].add_row(status, sums)
    for bucket, b, n in hist:
        total.hist[b] = total.hist.get(b, 0) + n
        point = points[(bucket // win.bucket) * win.bucket].hist
        point[b] = point.get(b, 0) + n
    return {
        "from": win.lo,
        "to": win.hi,
        "bucket_seconds": win.bucket,
        "totals": total.answer(series=False),
        "series": [{"t": t, **acc.answer(series=True)} for t, acc in points.items()],
        "latency_resolution": RESOLUTION,
    }
