import { describe, expect, it } from 'vitest';
import { historyUrl, rangeAggregates, type History } from './history';
import {
  bucketFromSearch,
  bucketQuery,
  rangeBounds,
  rangeFromSearch,
  rangeIsOpen,
  rangeLabel,
  rangeQuery,
  searchWithBucket,
  searchWithRange,
} from './range';

const preset = (key: '1h' | '24h' | '7d' | '30d' | 'all') => ({ key, from: '', to: '' });

describe('the page time range', () => {
  it('reads the range from the URL, defaulting to 24h', () => {
    expect(rangeFromSearch('?range=7d')).toEqual(preset('7d'));
    expect(rangeFromSearch('?range=nope')).toEqual(preset('24h'));
    expect(rangeFromSearch('')).toEqual(preset('24h'));
    expect(rangeFromSearch('?range=custom&from=2026-11-28&to=bad')).toEqual({ key: 'custom', from: '2026-11-28', to: '' });
  });
  it('writes the range beside the other parameters', () => {
    expect(searchWithRange('?x=1', preset('30d'))).toBe('?x=1&range=30d');
    expect(searchWithRange('?range=custom&from=2026-11-28', preset('all'))).toBe('?range=all');
    expect(searchWithRange('?x=1', { key: 'custom', from: '2026-11-28', to: '2026-11-30' })).toBe('?x=1&range=custom&from=2026-11-28&to=2026-11-30');
  });
  it('asks the history for the range ending now', () => {
    expect(historyUrl(preset('1h'), 7200.5)).toBe('/api/dashboard/history?to=7201&from=3600');
    expect(historyUrl(preset('all'), 7200)).toBe('/api/dashboard/history?to=7200');
  });
  it('gives the table and exports the same bounds as the charts', () => {
    expect(rangeQuery(preset('1h'), 7200)).toEqual({ from: new Date(3600 * 1000).toISOString(), to: '' });
    expect(rangeQuery(preset('all'), 7200)).toEqual({ from: '', to: '' });
    const custom = { key: 'custom' as const, from: '2026-11-30', to: '2026-12-01' };
    const b = rangeBounds(custom, 0);
    expect(b.from).toBe(new Date(2026, 10, 30).getTime() / 1000);
    expect(b.to).toBe(new Date(2026, 11, 1, 23, 59, 59, 999).getTime() / 1000);
    expect(historyUrl(custom, 0)).toBe(`/api/dashboard/history?to=${Math.ceil(b.to ?? 0)}&from=${b.from}`);
  });
});

describe('the metrics row over the range', () => {
  it('says which range a figure covers', () => {
    expect(rangeLabel(preset('24h'))).toBe('last 24 hours');
    expect(rangeLabel(preset('all'))).toBe('all time');
    expect(rangeLabel({ key: 'custom', from: '2026-11-20', to: '2026-11-27' })).toBe('2026-11-20 – 2026-11-27');
    expect(rangeLabel({ key: 'custom', from: '2026-11-20', to: '' })).toBe('since 2026-11-20');
    expect(rangeLabel({ key: 'custom', from: '', to: '' })).toBe('all time');
  });
  it('counts live calls only in a range that runs up to now', () => {
    expect(rangeIsOpen(preset('1h'))).toBe(true);
    expect(rangeIsOpen({ key: 'custom', from: '2026-11-20', to: '' })).toBe(true);
    expect(rangeIsOpen({ key: 'custom', from: '', to: '2026-11-27' })).toBe(false);
  });
  it('reads the totals of the history, not the ring', () => {
    const totals = {
      calls: 7,
      outcomes: { completed: 5, failed: 1, no_answer: 1, lost: 0 },
      total_cost: 1.5,
      cost_breakdown: { stt: 0.1, tts: 0.2, llm: 0.3, telephony: 0.9 },
      avg_duration: 61,
      avg_latency_ms: 700,
      latency_percentiles: { p50: 600, p90: 900, p95: 1000, p99: 1400, n: 40 },
    };
    const h: History = { from: 0, to: 3600, bucket_seconds: 60, totals, series: [] };
    expect(rangeAggregates(h, 2)).toEqual({
      total_calls: 7,
      total_cost: 1.5,
      avg_duration: 61,
      avg_latency_ms: 700,
      cost_breakdown: totals.cost_breakdown,
      active_calls: 2,
      latency_percentiles: { p50: 600, p95: 1000, p99: 1400, n: 40 },
      outcomes: totals.outcomes,
    });
  });
});

describe('a chart bucket narrowing the table', () => {
  it('lives in the address beside the range, and a new range drops it', () => {
    expect(bucketFromSearch('?range=7d&bucket=3600-7200')).toEqual({ from: 3600, to: 7200 });
    for (const bad of ['', '?bucket=7200-3600', '?bucket=1-x', '?bucket=-1-5', '?bucket=1.5-9']) expect(bucketFromSearch(bad)).toBeNull();
    expect(searchWithBucket('?range=7d', { from: 3600, to: 7200 })).toBe('?range=7d&bucket=3600-7200');
    expect(searchWithBucket('?range=7d&bucket=3600-7200', null)).toBe('?range=7d');
    expect(searchWithBucket('?bucket=3600-7200', null)).toBe('');
    expect(searchWithRange('?range=7d&bucket=3600-7200', preset('24h'))).toBe('?range=24h');
  });
  it('asks the list for [from, to): the routes take an inclusive end', () => {
    expect(bucketQuery({ from: 3600, to: 7200 })).toEqual({
      from: '1970-01-01T01:00:00.000Z',
      to: '1970-01-01T01:59:59.999Z',
    });
  });
});
