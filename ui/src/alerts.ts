/** Alert rules and their state (issue 15): GET /api/alerts, then kept current by the stream's alert events. */
import type { StreamEvent } from './types';

export interface AlertRule {
  name: string;
  metric: string;
  op: string;
  threshold: number;
  severity: string;
  description: string;
  summary: string;
  /** inactive, pending (holds, `for` not over yet) or firing. */
  state: string;
  value: number | null;
  samples: number;
  since: number | null;
  fired_at: number | null;
}

/** One alert_fired / alert_resolved event as the log holds it (the SSE and history envelope). */
export interface AlertEvent {
  type: 'alert_fired' | 'alert_resolved';
  call_id: string;
  ts: number;
  seq?: number | null;
  data: Record<string, unknown>;
}

export interface Alerts {
  enabled: boolean;
  error: string | null;
  rules: AlertRule[];
  /** Newest first. */
  history: AlertEvent[];
}

const HISTORY = 100;

export const NO_ALERTS: Alerts = { enabled: false, error: null, rules: [], history: [] };

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function number(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The stream event as an alert event, or null for any other event. */
export function alertEventOf(ev: StreamEvent): AlertEvent | null {
  if (ev.type !== 'alert_fired' && ev.type !== 'alert_resolved') return null;
  // The SSE frame is the event's data with call_id, seq and ts beside it (the history nests it).
  const { call_id, ts, seq: _seq, ...data } = ev.data;
  return { type: ev.type, call_id: text(call_id), ts: number(ts) ?? Date.now() / 1000, seq: ev.seq, data };
}

/** A rule the page has not heard of yet (fired before its GET answered, or a file reload). */
function ruleFrom(ev: AlertEvent): AlertRule {
  const d = ev.data;
  return {
    name: text(d.rule),
    metric: text(d.metric),
    op: text(d.op),
    threshold: number(d.threshold) ?? 0,
    severity: text(d.severity),
    description: '',
    summary: text(d.summary),
    state: 'inactive',
    value: null,
    samples: 0,
    since: null,
    fired_at: null,
  };
}

/** Folds one alert event into the state: the rule's state, and the event at the head of the history. */
export function applyAlertEvent(alerts: Alerts, ev: AlertEvent): Alerts {
  if (ev.seq != null && alerts.history.some((h) => h.seq === ev.seq)) return alerts; // a replayed event
  const name = text(ev.data.rule);
  const known = alerts.rules.some((r) => r.name === name);
  const rules = (known ? alerts.rules : [...alerts.rules, ruleFrom(ev)]).map((r) => {
    if (r.name !== name) return r;
    const value = number(ev.data.value) ?? r.value;
    const samples = number(ev.data.samples) ?? r.samples;
    return ev.type === 'alert_fired'
      ? { ...r, state: 'firing', fired_at: ev.ts, value, samples, summary: text(ev.data.summary) || r.summary }
      : { ...r, state: 'inactive', fired_at: null, since: null, value, samples };
  });
  return { ...alerts, enabled: true, rules, history: [ev, ...alerts.history].slice(0, HISTORY) };
}

export function firingRules(alerts: Alerts): AlertRule[] {
  return alerts.rules.filter((r) => r.state === 'firing');
}
