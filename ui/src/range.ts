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
  params.delete('bucket'); // a chart bucket belongs to the range it was picked in
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

/** One chart bucket the table is narrowed to: epoch seconds, [from, to). */
export interface Bucket {
  from: number;
  to: number;
}

/** The bucket in `?bucket=FROM-TO` (whole epoch seconds, from < to); null when absent or malformed. */
export function bucketFromSearch(search: string): Bucket | null {
  const m = /^(\d{1,12})-(\d{1,12})$/.exec(new URLSearchParams(search).get('bucket') ?? '');
  if (!m) return null;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return from < to ? { from, to } : null;
}

/** The address with the bucket set (or removed), the other parameters kept. */
export function searchWithBucket(search: string, bucket: Bucket | null): string {
  const params = new URLSearchParams(search);
  if (bucket) params.set('bucket', `${bucket.from}-${bucket.to}`);
  else params.delete('bucket');
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The bucket as the list and export routes take it: their `to` is inclusive, so 1 ms before the end. */
export function bucketQuery(bucket: Bucket): { from: string; to: string } {
  return { from: new Date(bucket.from * 1000).toISOString(), to: new Date(bucket.to * 1000 - 1).toISOString() };
}

/** "1/12/26, 14:00 – 15:00": a bucket in the reader's locale (whole days as dates). */
export function bucketText(bucket: Bucket): string {
  const a = new Date(bucket.from * 1000);
  const b = new Date(bucket.to * 1000);
  if (bucket.to - bucket.from >= 86400) {
    const last = new Date(bucket.to * 1000 - 1);
    const day = (d: Date) => d.toLocaleDateString();
    return day(a) === day(last) ? day(a) : `${day(a)} – ${day(last)}`;
  }
  const time = (d: Date) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const sameDay = a.toDateString() === new Date(bucket.to * 1000 - 1).toDateString();
  return `${a.toLocaleDateString()}, ${time(a)} – ${sameDay ? '' : `${b.toLocaleDateString()}, `}${time(b)}`;
}
