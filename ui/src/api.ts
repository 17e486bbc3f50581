/** Same-origin API client. Auth rides on the HttpOnly session cookie. */
import type { Aggregates, CallRecord, IngestRejections, Me } from './types';
import { NO_ALERTS, type Alerts } from './alerts';

export class UnauthorizedError extends Error {
  constructor() {
    super('unauthorized');
    this.name = 'UnauthorizedError';
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Subscribe to "some request answered 401"; returns the unsubscribe function. */
export function onUnauthorized(f: Listener): () => void {
  unauthorizedListeners.add(f);
  return () => unauthorizedListeners.delete(f);
}

/** Tell the listeners a request answered 401 (for fetches made outside this module). */
export function onUnauthorizedNotify(): void {
  for (const f of unauthorizedListeners) f();
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: unknown; detail?: unknown };
    const detail = typeof body.detail === 'string' ? `: ${body.detail}` : '';
    return `${typeof body.error === 'string' ? body.error : res.statusText}${detail}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' }, ...init });
  if (res.status === 401) {
    for (const f of unauthorizedListeners) f();
    throw new UnauthorizedError();
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  return res;
}

export interface CallQuery {
  limit: number;
  offset: number;
  status: string;
  direction: string;
  q: string;
  /** The started-at range as ISO instants (from the page's time range, src/range.ts); '' = open. */
  from: string;
  to: string;
}

/** A local calendar day's first or last millisecond as ISO UTC (the server filters by instant). */
export function dayBound(day: string, end: boolean): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const d = end
    ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59, 999)
    : new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The table's filters as query parameters (shared by the table and the exports). */
export function filterParams(query: CallQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (query.status) p.set('status', query.status);
  if (query.direction) p.set('direction', query.direction);
  if (query.q.trim()) p.set('q', query.q.trim());
  if (query.from) p.set('from', query.from);
  if (query.to) p.set('to', query.to);
  return p;
}

/** The table's page over the whole log (not only the ring of recent calls the Patter route lists). */
export function callsUrl(query: CallQuery): string {
  const p = new URLSearchParams({ limit: String(query.limit), offset: String(query.offset), view: 'summary' });
  for (const [k, v] of filterParams(query)) p.set(k, v);
  return `/api/dashboard/history/calls?${p.toString()}`;
}

export async function fetchCalls(query: CallQuery, signal?: AbortSignal): Promise<{ calls: CallRecord[]; total: number }> {
  const res = await request(callsUrl(query), signal ? { signal } : undefined);
  const calls = (await res.json()) as CallRecord[];
  const header = Number(res.headers.get('X-Total-Count'));
  return { calls, total: Number.isFinite(header) && res.headers.has('X-Total-Count') ? header : calls.length };
}

export async function fetchCall(id: string, signal?: AbortSignal): Promise<CallRecord> {
  const res = await request(`/api/dashboard/calls/${encodeURIComponent(id)}`, signal ? { signal } : undefined);
  return (await res.json()) as CallRecord;
}

export async function fetchActive(): Promise<CallRecord[]> {
  return (await (await request('/api/dashboard/active')).json()) as CallRecord[];
}

export async function fetchAggregates(): Promise<Aggregates> {
  return (await (await request('/api/dashboard/aggregates')).json()) as Aggregates;
}

export async function deleteCall(id: string): Promise<void> {
  await request(`/api/dashboard/calls/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** What the table shows, every matching call in the log (not only the in-memory ring). */
export function exportUrl(format: 'csv' | 'json', query: CallQuery): string {
  const p = filterParams(query);
  p.set('format', format);
  p.set('scope', 'all');
  return `/api/dashboard/export/calls?${p.toString()}`;
}

/** This session's rights; null when the server predates GET /api/me (then nothing is hidden). */
export async function fetchMe(): Promise<Me | null> {
  try {
    return (await (await request('/api/me')).json()) as Me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Refused ingest requests of the last window; null when not allowed (403) or not served (404). */
export async function fetchIngestRejections(): Promise<IngestRejections | null> {
  try {
    return (await (await request('/api/dashboard/ingest/rejections')).json()) as IngestRejections;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return null;
    throw e;
  }
}

/** The alert rules, their state and recent alert events; NO_ALERTS when the server has no alerts route. */
export async function fetchAlerts(): Promise<Alerts> {
  try {
    const body = (await (await request('/api/alerts')).json()) as Partial<Alerts>;
    return { enabled: !!body.enabled, error: body.error ?? null, rules: body.rules ?? [], history: body.history ?? [] };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return NO_ALERTS;
    throw e;
  }
}

/** Soft-delete several calls at once (admin); the server answers with the ids it deleted. */
export async function deleteCalls(ids: string[]): Promise<string[]> {
  const res = await request('/api/dashboard/calls/delete', {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ call_ids: ids }),
  });
  return ((await res.json()) as { deleted: string[] }).deleted;
}
