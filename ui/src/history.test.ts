import { describe, expect, it } from 'vitest';
import { historyUrl, rangeFromSearch, searchWithRange } from './history';

describe('history range', () => {
  it('reads the range from the URL, defaulting to 24h', () => {
    expect(rangeFromSearch('?range=7d')).toBe('7d');
    expect(rangeFromSearch('?range=nope')).toBe('24h');
    expect(rangeFromSearch('')).toBe('24h');
  });
  it('writes the range beside the other parameters', () => {
    expect(searchWithRange('?x=1', '30d')).toBe('?x=1&range=30d');
    expect(searchWithRange('?range=1h', 'all')).toBe('?range=all');
  });
  it('asks the server for the range ending now', () => {
    expect(historyUrl('1h', 7200.5)).toBe('/api/dashboard/history?to=7201&from=3600');
    expect(historyUrl('all', 7200)).toBe('/api/dashboard/history?to=7200');
  });
});
