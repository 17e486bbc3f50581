import { describe, expect, it } from 'vitest';
import { callsUrl, dayBound, exportUrl, type CallQuery } from './api';

const BASE: CallQuery = { limit: 50, offset: 0, status: '', direction: '', q: '', from: '', to: '' };

function params(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams);
}

describe('table and export URLs', () => {
  it('turns a local day range into the first and last instant of those days', () => {
    const from = dayBound('2026-11-30', false);
    const to = dayBound('2026-12-01', true);
    expect(from).toBe(new Date(2026, 10, 30, 0, 0, 0, 0).toISOString());
    expect(to).toBe(new Date(2026, 11, 1, 23, 59, 59, 999).toISOString());
    expect(dayBound('', false)).toBeNull();
    expect(dayBound('30/11/2026', false)).toBeNull();
  });

  it('sends the time range with the table query', () => {
    const p = params(callsUrl({ ...BASE, from: '2026-11-29T23:00:00.000Z', to: '2026-12-01T22:59:59.999Z' }));
    expect(p.from).toBe('2026-11-29T23:00:00.000Z');
    expect(p.to).toBe('2026-12-01T22:59:59.999Z');
    expect(p.view).toBe('summary');
  });

  it('exports what the table shows: every filter, the whole log, no paging', () => {
    const query = { ...BASE, limit: 25, offset: 50, status: 'busy', direction: 'outbound', q: ' rossi ', from: dayBound('2026-11-30', false) ?? '', to: dayBound('2026-12-01', true) ?? '' };
    const url = exportUrl('csv', query);
    expect(url.startsWith('/api/dashboard/export/calls?')).toBe(true);
    expect(params(url)).toEqual({
      status: 'busy',
      direction: 'outbound',
      q: 'rossi',
      from: dayBound('2026-11-30', false),
      to: dayBound('2026-12-01', true),
      format: 'csv',
      scope: 'all',
    });
    expect(params(exportUrl('json', BASE))).toEqual({ format: 'json', scope: 'all' });
  });
});
