import { describe, expect, it } from 'vitest';
import { historyUrl } from './history';
import { rangeBounds, rangeFromSearch, rangeQuery, searchWithRange } from './range';

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
