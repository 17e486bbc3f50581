import { useCallback, useEffect, useRef, useState } from 'react';
import { fetchAlerts } from '../api';
import { NO_ALERTS, alertEventOf, applyAlertEvent, firingRules, type AlertEvent, type AlertRule, type Alerts } from '../alerts';
import { DASH, formatTime } from '../format';
import type { StreamEvent } from '../types';

/**
 * The alerts state: read from GET /api/alerts on every stream (re)connect (the first is the page
 * load: the caller's `onOpen` calls `reload`), then kept
 * current by the stream's alert events (no polling). Events arriving while a read is in flight
 * are applied on top of its answer.
 */
export function useAlerts(signedIn: boolean): { alerts: Alerts; reload: () => void; onEvent: (ev: StreamEvent) => void } {
  const [alerts, setAlerts] = useState<Alerts>(NO_ALERTS);
  const pending = useRef<AlertEvent[] | null>(null);
  const reload = useCallback(() => {
    if (!signedIn) return;
    pending.current = [];
    fetchAlerts()
      .then((fresh) => setAlerts((pending.current ?? []).reduce(applyAlertEvent, fresh)))
      .catch(() => undefined) // the banner keeps its last state; the next (re)connect reads again
      .finally(() => {
        pending.current = null;
      });
  }, [signedIn]);
  const onEvent = useCallback((ev: StreamEvent) => {
    const alert = alertEventOf(ev);
    if (!alert) return;
    pending.current?.push(alert);
    setAlerts((a) => applyAlertEvent(a, alert));
  }, []);
  return { alerts, reload, onEvent };
}

/** Shown while any alert fires; not dismissable (it goes when the alert resolves). */
export function AlertsBanner({ alerts, onOpen }: { alerts: Alerts; onOpen: () => void }) {
  const firing = firingRules(alerts);
  const first = firing[0];
  if (first === undefined) return null;
  return (
    <div className="alert-banner" role="alert" data-testid="alerts-banner">
      <span>
        <strong>{firing.length === 1 ? '1 alert firing' : `${firing.length} alerts firing`}</strong>
        {': '}
        {first.name}
        {first.summary ? ` — ${first.summary}` : ''}
        {firing.length > 1 ? ` (and ${firing.length - 1} more)` : ''}
      </span>
      <button type="button" className="btn" onClick={onOpen}>
        View alerts
      </button>
    </div>
  );
}

/** Side panel: every rule with its state, then the newest alert events. */
export function AlertsView({ alerts, onClose }: { alerts: Alerts; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <aside className="detail alerts-view" role="dialog" aria-modal="false" aria-labelledby="alerts-title" data-testid="alerts-view">
      <header className="detail-head">
        <h2 id="alerts-title" tabIndex={-1} ref={heading}>
          Alerts
        </h2>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close alerts">
          ✕
        </button>
      </header>
      <div className="detail-body">
        {alerts.error ? (
          <p className="error-banner" role="alert">
            The rules file failed to reload (the previous rules stay in force): {alerts.error}
          </p>
        ) : null}
        {!alerts.enabled ? (
          <p className="muted">No alert rules: start the server with <code>--alerts alerts.toml</code> (see docs/alerts.md).</p>
        ) : (
          <RulesTable rules={alerts.rules} />
        )}
        <section className="detail-section" aria-labelledby="alert-history-title">
          <h3 id="alert-history-title">Recent alert events</h3>
          {alerts.history.length === 0 ? <p className="muted small">None yet.</p> : <History events={alerts.history} />}
        </section>
      </div>
    </aside>
  );
}

function RulesTable({ rules }: { rules: AlertRule[] }) {
  return (
    <table className="turn-table alert-rules">
      <caption className="sr-only">Alert rules</caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">State</th>
          <th scope="col" className="num">Value</th>
          <th scope="col" className="num">Since</th>
        </tr>
      </thead>
      <tbody>
        {rules.map((r) => (
          <tr key={r.name} data-rule={r.name} data-state={r.state}>
            <td>
              <strong>{r.name}</strong>
              <div className="muted small">{r.summary || `${r.metric} ${r.op} ${r.threshold}`}</div>
            </td>
            <td>
              <span className={`alert-state alert-${r.state}`}>{r.state}</span>
            </td>
            <td className="num">{r.value === null ? DASH : `${round(r.value)} (n=${r.samples})`}</td>
            <td className="num">{formatTime(r.state === 'firing' ? r.fired_at : r.since)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function History({ events }: { events: AlertEvent[] }) {
  return (
    <ol className="timeline alert-history">
      {events.map((ev, i) => {
        const fired = ev.type === 'alert_fired';
        const why = fired ? String(ev.data.summary ?? '') : String(ev.data.reason ?? '');
        return (
          <li key={ev.seq ?? `h${i}`} className={`line line-event ${fired ? 'alert-fired' : 'alert-resolved'}`} data-type={ev.type}>
            <span className="speaker">{fired ? 'fired' : 'resolved'}</span>
            <span className="line-time num">{formatTime(ev.ts)}</span>
            <span className="line-text">
              <strong>{String(ev.data.rule ?? ev.call_id)}</strong> {why}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : String(Math.round(v * 100) / 100);
}
