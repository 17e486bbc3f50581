"""Response models of the history routes (``web/history.py``), for ``schemas/`` and the tests."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from patterdash.web.api_models import CostSplit, Outcomes

__all__ = ["History", "HistoryLatency", "HistoryPoint", "HistoryTotals", "SeriesLatency"]

_STRICT = ConfigDict(extra="forbid")


class HistoryLatency(BaseModel):
    """Cross-call turn-latency percentiles (ms) over every turn in the range, read from the histogram."""

    model_config = _STRICT
    p50: float
    p90: float
    p95: float
    p99: float
    n: int = Field(description="Turns with a latency in the range: how far to trust the percentiles")


class SeriesLatency(BaseModel):
    """Turn-latency p50/p95 (ms) of one bucket, with its turn count."""

    model_config = _STRICT
    p50: float
    p95: float
    n: int


class _Sums(BaseModel):
    model_config = _STRICT
    calls: int = Field(description="Completed, not deleted calls started in the range")
    outcomes: Outcomes
    total_cost: float
    cost_breakdown: CostSplit
    avg_duration: float
    avg_latency_ms: float = Field(description="Average of the calls' latency_avg (as the ring's aggregates)")


class HistoryTotals(_Sums):
    """The whole range."""

    statuses: dict[str, int] = Field(description="Calls by final status (the outcomes' detail)")
    latency_percentiles: HistoryLatency


class HistoryPoint(_Sums):
    """One series bucket [t, t + bucket_seconds)."""

    t: int = Field(description="Bucket start, epoch seconds (UTC multiples of bucket_seconds)")
    latency_percentiles: SeriesLatency


class History(BaseModel):
    """``GET /api/dashboard/history``: aggregates and series over the whole log for a time range."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: int = Field(alias="from", description="Window start (epoch s): `from` rounded down to the minute")
    to: int = Field(description="Window end, exclusive (epoch s): `to` rounded up to the minute")
    bucket_seconds: int
    totals: HistoryTotals
    series: list[HistoryPoint]
    latency_resolution: str
    source: Literal["rollups", "scan"] = Field(
        description="rollups: status/direction filters only; scan: agent, provider or q read the calls"
    )
