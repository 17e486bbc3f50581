/** Same-origin API client. Auth rides on the HttpOnly session cookie. */
import type { Aggregates, CallRecord } from './types';

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
}

export function callsUrl(query: CallQuery): string {
  const p = new URLSearchParams({ limit: String(query.limit), offset: String(query.offset), view: 'summary' });
  if (query.status) p.set('status', query.status);
  if (query.direction) p.set('direction', query.direction);
  if (query.q.trim()) p.set('q', query.q.trim());
  return `/api/dashboard/calls?${p.toString()}`;
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

export function exportUrl(format: 'csv' | 'json'): string {
  return `/api/dashboard/export/calls?format=${format}`;
}
