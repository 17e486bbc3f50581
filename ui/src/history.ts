/** The history view's data: GET /api/dashboard/history for the page's time range (src/range.ts). */
import { useEffect, useState } from 'react';
import { ApiError, UnauthorizedError, onUnauthorizedNotify } from './api';
import { rangeBounds, type TimeRange } from './range';
import type { Aggregates } from './types';

export { RANGES, type RangeKey } from './range';


export interface Outcomes {
  completed: number;
  failed: number;
  no_answer: number;
  lost: number;
}

export interface CostSplit {
  stt: number;
  tts: number;
  llm: number;
  telephony: number;
}

export interface HistoryPoint {
  t: number;
  calls: number;
  outcomes: Outcomes;
  total_cost: number;
  cost_breakdown: CostSplit;
  avg_duration: number;
  avg_latency_ms: number;
  latency_percentiles: { p50: number; p95: number; n: number };
}

export interface History {
  from: number;
  to: number;
  bucket_seconds: number;
  totals: Omit<HistoryPoint, 't' | 'latency_percentiles'> & {
    latency_percentiles: { p50: number; p90: number; p95: number; p99: number; n: number };
  };
  series: HistoryPoint[];
}

/** The query for the range (a preset ends now; `all` and an open custom start: no `from`). */
export function historyUrl(range: TimeRange, nowSeconds: number): string {
  const b = rangeBounds(range, nowSeconds);
  const params = new URLSearchParams({ to: String(Math.ceil(b.to ?? nowSeconds)) });
  if (b.from !== null) params.set('from', String(Math.floor(b.from)));
  return `/api/dashboard/history?${params.toString()}`;
}

export async function fetchHistory(range: TimeRange, signal?: AbortSignal): Promise<History> {
  const res = await fetch(historyUrl(range, Date.now() / 1000), {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    signal,
  });
  if (res.status === 401) {
    onUnauthorizedNotify();
    throw new UnauthorizedError();
  }
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  return (await res.json()) as History;
}

/** The metric cards' trend lines: one value per bucket of the chosen range. */
export function trendsOf(h: History | null): { calls: number[]; cost: number[]; duration: number[]; latency: number[] } | null {
  if (!h) return null;
  return {
    calls: h.series.map((p) => p.calls),
    cost: h.series.map((p) => p.total_cost),
    duration: h.series.map((p) => p.avg_duration),
    latency: h.series.map((p) => p.avg_latency_ms),
  };
}

/** The range's totals in the metrics row's shape, with the live count (live calls are "now"). */
export function rangeAggregates(h: History, activeCalls: number): Aggregates {
  const t = h.totals;
  const p = t.latency_percentiles;
  return {
    total_calls: t.calls,
    total_cost: t.total_cost,
    avg_duration: t.avg_duration,
    avg_latency_ms: t.avg_latency_ms,
    cost_breakdown: t.cost_breakdown,
    active_calls: activeCalls,
    latency_percentiles: { p50: p.p50, p95: p.p95, p99: p.p99, n: p.n },
    outcomes: t.outcomes,
  };
}

/** A history answer with the range it was asked for (shown until the next range's answer lands). */
export interface RangeHistory {
  range: TimeRange;
  data: History;
}

/** Reads the history of the range again whenever the range or `version` changes. */
export function useHistory(range: TimeRange, version: number, enabled: boolean): { history: RangeHistory | null; error: string | null } {
  const [history, setHistory] = useState<RangeHistory | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const ctl = new AbortController();
    fetchHistory(range, ctl.signal)
      .then((data) => {
        setHistory({ range, data });
        setError(null);
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted && !(e instanceof UnauthorizedError)) setError(e instanceof Error ? e.message : String(e));
      });
    return () => ctl.abort();
  }, [range, version, enabled]);
  return { history, error };
}
