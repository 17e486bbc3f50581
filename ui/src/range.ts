/** The page's one time range (in the URL): the charts, the table, its filters and the exports follow it. */
import { dayBound } from './api';

export type RangeKey = '1h' | '24h' | '7d' | '30d' | 'all';

export const RANGES: { key: RangeKey; label: string; seconds: number | null }[] = [
  { key: '1h', label: '1h', seconds: 3600 },
  { key: '24h', label: '24h', seconds: 86400 },
  { key: '7d', label: '7d', seconds: 7 * 86400 },
  { key: '30d', label: '30d', seconds: 30 * 86400 },
  { key: 'all', label: 'All', seconds: null },
];

export interface TimeRange {
  key: RangeKey | 'custom';
  /** For `custom`: first and last local day (`YYYY-MM-DD`, from date inputs); '' = open. */
  from: string;
  to: string;
}

export const DEFAULT_RANGE: TimeRange = { key: '24h', from: '', to: '' };

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The range in `?range=` (with `from`/`to` days for `custom`); the default when absent or unknown. */
export function rangeFromSearch(search: string): TimeRange {
  const params = new URLSearchParams(search);
  const key = params.get('range');
  if (key === 'custom') {
    const day = (name: string) => {
      const v = params.get(name) ?? '';
      return DAY.test(v) ? v : '';
    };
    return { key, from: day('from'), to: day('to') };
  }
  const preset = RANGES.find((r) => r.key === key);
  return preset ? { key: preset.key, from: '', to: '' } : DEFAULT_RANGE;
}

/** The address with the range set, other parameters kept, so a view can be shared. */
export function searchWithRange(search: string, range: TimeRange): string {
  const params = new URLSearchParams(search);
  params.set('range', range.key);
  params.delete('from');
  params.delete('to');
  if (range.key === 'custom') {
    if (range.from) params.set('from', range.from);
    if (range.to) params.set('to', range.to);
  }
  return `?${params.toString()}`;
}

/** Epoch seconds the range covers; null = open (a preset's end stays open so new calls show up). */
export function rangeBounds(range: TimeRange, nowSeconds: number): { from: number | null; to: number | null } {
  if (range.key === 'custom') {
    const from = dayBound(range.from, false);
    const to = dayBound(range.to, true);
    return { from: from ? Date.parse(from) / 1000 : null, to: to ? Date.parse(to) / 1000 : null };
  }
  const seconds = RANGES.find((r) => r.key === range.key)?.seconds ?? null;
  return { from: seconds === null ? null : Math.floor(nowSeconds - seconds), to: null };
}

/** The bounds as the list and export routes take them (ISO instants; '' = open). */
export function rangeQuery(range: TimeRange, nowSeconds: number): { from: string; to: string } {
  const b = rangeBounds(range, nowSeconds);
  const iso = (s: number | null) => (s === null ? '' : new Date(s * 1000).toISOString());
  return { from: iso(b.from), to: iso(b.to) };
}

/** What a figure of the range covers, in words ("last 24 hours", "2026-11-20 – 2026-11-27", "all time"). */
export function rangeLabel(range: TimeRange): string {
  if (range.key === 'custom') {
    if (range.from && range.to) return range.from === range.to ? range.from : `${range.from} – ${range.to}`;
    if (range.from) return `since ${range.from}`;
    return range.to ? `until ${range.to}` : 'all time';
  }
  return { '1h': 'last hour', '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days', all: 'all time' }[range.key];
}

/** Whether the range runs up to now (then calls live right now belong to it). */
export function rangeIsOpen(range: TimeRange): boolean {
  return rangeBounds(range, 0).to === null;
}
