import { describe, expect, it } from 'vitest';
import { NO_ALERTS, alertEventOf, applyAlertEvent, firingRules } from './alerts';

const fired = alertEventOf({
  type: 'alert_fired',
  seq: 7,
  data: { call_id: 'alert:slow', rule: 'slow', metric: 'p95(turn_latency_ms)', op: '>', threshold: 1500, value: 1830, samples: 42, summary: 'slow: p95 = 1830 > 1500 (n=42)', seq: 7, ts: 100 },
});
const resolved = alertEventOf({ type: 'alert_resolved', seq: 9, data: { call_id: 'alert:slow', rule: 'slow', value: 900, samples: 40, reason: 'recovered', seq: 9, ts: 160 } });

describe('alerts', () => {
  it('reads only alert events off the stream, with their flat SSE data', () => {
    expect(alertEventOf({ type: 'call_start', seq: 1, data: { call_id: 'c' } })).toBeNull();
    expect(fired).toMatchObject({ type: 'alert_fired', call_id: 'alert:slow', ts: 100, seq: 7 });
    expect(fired?.data).toMatchObject({ rule: 'slow', value: 1830 });
  });

  it('fires and resolves a rule, newest event first, a replay applied once', () => {
    if (!fired || !resolved) throw new Error('unreachable');
    const a = applyAlertEvent(applyAlertEvent(NO_ALERTS, fired), fired);
    expect(firingRules(a).map((r) => r.name)).toEqual(['slow']);
    expect(a.history).toHaveLength(1);
    const b = applyAlertEvent(a, resolved);
    expect(firingRules(b)).toEqual([]);
    expect(b.history.map((h) => h.type)).toEqual(['alert_resolved', 'alert_fired']);
    expect(b.rules[0]).toMatchObject({ state: 'inactive', value: 900, fired_at: null });
  });
});
