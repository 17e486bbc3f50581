/** The history view's data: a time range kept in the URL, and GET /api/dashboard/history. */
import { ApiError, UnauthorizedError, onUnauthorizedNotify } from './api';

export type RangeKey = '1h' | '24h' | '7d' | '30d' | 'all';

export const RANGES: { key: RangeKey; label: string; seconds: number | null }[] = [
  { key: '1h', label: '1h', seconds: 3600 },
  { key: '24h', label: '24h', seconds: 86400 },
  { key: '7d', label: '7d', seconds: 7 * 86400 },
  { key: '30d', label: '30d', seconds: 30 * 86400 },
  { key: 'all', label: 'All', seconds: null },
];

const DEFAULT_RANGE: RangeKey = '24h';

/** The range named by `?range=` (the default when absent or unknown). */
export function rangeFromSearch(search: string): RangeKey {
  const value = new URLSearchParams(search).get('range');
  return RANGES.some((r) => r.key === value) ? (value as RangeKey) : DEFAULT_RANGE;
}

/** The address with `?range=` set, other parameters kept, so a view can be shared. */
export function searchWithRange(search: string, key: RangeKey): string {
  const params = new URLSearchParams(search);
  params.set('range', key);
  return `?${params.toString()}`;
}

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

/** The query for a range ending now (`all`: no `from`, the server starts at the first call). */
export function historyUrl(key: RangeKey, nowSeconds: number): string {
  const range = RANGES.find((r) => r.key === key) ?? RANGES[1]!;
  const params = new URLSearchParams({ to: String(Math.ceil(nowSeconds)) });
  if (range.seconds !== null) params.set('from', String(Math.floor(nowSeconds - range.seconds)));
  return `/api/dashboard/history?${params.toString()}`;
}

export async function fetchHistory(key: RangeKey, signal?: AbortSignal): Promise<History> {
  const res = await fetch(historyUrl(key, Date.now() / 1000), {
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
