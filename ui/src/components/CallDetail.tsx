import { useEffect, useRef, useState } from 'react';
import { ApiError, UnauthorizedError, deleteCall, fetchCall } from '../api';
import type { CallMetrics, CallRecord, LatencyBreakdown, TurnMetrics } from '../types';
import {
  DASH,
  callDuration,
  formatCount,
  formatDuration,
  formatMs,
  formatOffset,
  formatTime,
  recordTurns,
  summariseTurns,
  waterfallScale,
  waterfallSteps,
} from '../format';
import { buildTimeline, describeDetail } from '../timeline';
import { DirectionTag, StatusBadge } from './Badges';
import { CostBreakdown } from './CostBreakdown';
import { FEW_TURNS } from './MetricsRow';
import { Line } from './Transcript';
import { Waterfall } from './Waterfall';

interface Props {
  callId: string;
  /** Live state when the call is still active (fresher than a fetch). */
  live: CallRecord | undefined;
  /** Bumped when an event touched this call, to reload it. */
  version: number;
  onClose: () => void;
  onDeleted: (id: string) => void;
}

/** Side panel with everything known about one call. */
export function CallDetail({ callId, live, version, onClose, onDeleted }: Props) {
  const [fetched, setFetched] = useState<CallRecord | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    fetchCall(callId, ctl.signal)
      .then(setFetched)
      .catch((e: unknown) => {
        if (ctl.signal.aborted || e instanceof UnauthorizedError) return;
        setError(e instanceof ApiError && e.status === 404 ? 'This call no longer exists.' : String(e instanceof Error ? e.message : e));
      });
    return () => ctl.abort();
  }, [callId, version]);

  // Focus moves into the panel when it opens; arrowing through rows keeps it there.
  useEffect(() => {
    heading.current?.focus();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const record = live ?? (fetched?.call_id === callId ? fetched : null);

  return (
    <aside className="detail" role="dialog" aria-modal="false" aria-labelledby="detail-title">
      <header className="detail-head">
        <h2 id="detail-title" tabIndex={-1} ref={heading}>
          Call detail
        </h2>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close call detail">
          ✕
        </button>
      </header>
      {error ? (
        <p className="error-banner" role="alert">
          {error}
        </p>
      ) : null}
      {!record && !error ? <p className="muted detail-body">Loading…</p> : null}
      {record ? <DetailBody record={record} isLive={!!live} onDeleted={onDeleted} /> : null}
    </aside>
  );
}

function DetailBody({ record: r, isLive, onDeleted }: { record: CallRecord; isLive: boolean; onDeleted: (id: string) => void }) {
  const m = r.metrics ?? null;
  const turns = recordTurns(r);
  const derived = summariseTurns(turns);
  const avg: LatencyBreakdown | null = m?.latency_avg ?? derived.avg;
  const p95: LatencyBreakdown | null = m?.latency_p95 ?? derived.p95;
  const n = turns.length || r.turn_count || 0;
  const scale = Math.max(waterfallScale(waterfallSteps(avg)), waterfallScale(waterfallSteps(p95)));
  const timeline = buildTimeline(r);
  const nowSeconds = Date.now() / 1000;

  return (
    <div className="detail-body">
      <p className="detail-numbers">
        <span className="num phone">{r.caller || DASH}</span> <span className="muted">→</span>{' '}
        <span className="num phone">{r.callee || DASH}</span>
      </p>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={r.status} />
          </dd>
        </div>
        <div>
          <dt>Error code</dt>
          <dd className="num">{m?.error_code || DASH}</dd>
        </div>
        <div>
          <dt>Direction</dt>
          <dd>
            <DirectionTag direction={r.direction} />
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd className="num">{formatTime(r.started_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd className="num">{formatDuration(callDuration(r, isLive ? nowSeconds : undefined))}</dd>
        </div>
        <div>
          <dt>Turns</dt>
          <dd className="num">{n}</dd>
        </div>
        <div className="wide">
          <dt>Call ID</dt>
          <dd className="num mono-small">{r.call_id}</dd>
        </div>
      </dl>

      <section className="detail-section" aria-labelledby="lat-title">
        <h3 id="lat-title">Latency</h3>
        {avg || p95 ? (
          <div className="wf-pair">
            <figure>
              <figcaption>
                Average <span className="muted">over {n} turn{n === 1 ? '' : 's'}</span>
              </figcaption>
              <Waterfall latency={avg} label="Average latency" scaleMs={scale} />
            </figure>
            <figure>
              <figcaption>
                P95{' '}
                <span className={n < FEW_TURNS ? 'warn-text' : 'muted'} data-testid="p95-note">
                  {n < FEW_TURNS ? `only ${n} turn${n === 1 ? '' : 's'} — close to the slowest` : `over ${n} turns`}
                </span>
              </figcaption>
              <Waterfall latency={p95} label="P95 latency" scaleMs={scale} />
            </figure>
          </div>
        ) : (
          <p className="muted small">No latency recorded.</p>
        )}
        {turns.length > 0 ? <TurnTable turns={turns} /> : null}
      </section>

      <section className="detail-section" aria-labelledby="cost-title">
        <h3 id="cost-title">Cost</h3>
        <CostBreakdown cost={m?.cost ?? r.running_cost} label="Cost breakdown" />
      </section>

      <section className="detail-section" aria-labelledby="prov-title">
        <h3 id="prov-title">Providers</h3>
        <Providers m={m} />
      </section>

      <section className="detail-section" aria-labelledby="tl-title">
        <h3 id="tl-title">Timeline</h3>
        {timeline.length === 0 ? <p className="muted small">No transcript.</p> : null}
        <ol className="timeline">
          {timeline.map((item, i) =>
            item.kind === 'line' ? (
              <Line key={`l${i}`} line={item.line} time={formatOffset(item.ts, r.started_at)} />
            ) : (
              <li key={`e${i}`} className={`line line-event ev-${item.event.kind}`}>
                <span className="speaker">{item.event.kind}</span>
                <span className="line-time num">{formatOffset(item.ts, r.started_at)}</span>
                <span className="line-text">
                  {item.event.name ? <strong>{item.event.name}</strong> : null} <code>{describeDetail(item.event.detail)}</code>
                </span>
              </li>
            ),
          )}
        </ol>
      </section>

      <DeleteButton id={r.call_id} disabled={isLive} onDeleted={onDeleted} />
    </div>
  );
}

function TurnTable({ turns }: { turns: TurnMetrics[] }) {
  return (
    <table className="turn-table">
      <caption className="sr-only">Latency per turn</caption>
      <thead>
        <tr>
          <th scope="col">Turn</th>
          <th scope="col" className="num">STT</th>
          <th scope="col" className="num">LLM 1st tok</th>
          <th scope="col" className="num">TTS 1st byte</th>
          <th scope="col" className="num">Total</th>
        </tr>
      </thead>
      <tbody>
        {turns.map((t) => {
          const [stt, llm, tts, total] = waterfallSteps(t.latency);
          return (
            <tr key={t.turn_index}>
              <td className="num">{t.turn_index}</td>
              <td className="num">{formatMs(stt?.ms)}</td>
              <td className="num">{formatMs(llm?.ms)}</td>
              <td className="num">{formatMs(tts?.ms)}</td>
              <td className="num strong">{formatMs(total?.ms)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Providers({ m }: { m: CallMetrics | null }) {
  if (!m) return <p className="muted small">Known when the call ends.</p>;
  const rows: [string, string | null | undefined, string | null | undefined][] = [
    ['STT', m.stt_provider, m.stt_model],
    ['LLM', m.llm_provider, m.llm_model],
    ['TTS', m.tts_provider, m.tts_model],
    ['Telephony', m.telephony_provider, null],
  ];
  return (
    <table className="kv">
      <tbody>
        <tr>
          <th scope="row">Voice mode</th>
          <td colSpan={2}>{m.provider_mode || DASH}</td>
        </tr>
        {rows.map(([label, provider, model]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{provider || DASH}</td>
            <td className="muted">{model || ''}</td>
          </tr>
        ))}
        {typeof m.preemptive_hits === 'number' || typeof m.preemptive_misses === 'number' ? (
          <tr>
            <th scope="row">Preemptive</th>
            <td colSpan={2} className="num">
              {formatCount(m.preemptive_hits)} hits · {formatCount(m.preemptive_misses)} misses
            </td>
          </tr>
        ) : null}
        {typeof m.context_tokens === 'number' ? (
          <tr>
            <th scope="row">Context tokens</th>
            <td colSpan={2} className="num">
              {formatCount(m.context_tokens)}
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}

function DeleteButton({ id, disabled, onDeleted }: { id: string; disabled: boolean; onDeleted: (id: string) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setConfirming(false);
    setError(null);
  }, [id]);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await deleteCall(id);
      onDeleted(id);
    } catch (e: unknown) {
      if (e instanceof ApiError && e.status === 403) setError('Deleting needs an admin token.');
      else if (!(e instanceof UnauthorizedError)) setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <div className="danger-zone">
      {disabled ? <p className="muted small">A live call can be deleted once it ends.</p> : null}
      {confirming ? (
        <>
          <span>Delete this call from the dashboard?</span>
          <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void run()}>
            Confirm delete
          </button>
          <button type="button" className="btn" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" className="btn btn-danger-outline" disabled={disabled} onClick={() => setConfirming(true)}>
          Delete call
        </button>
      )}
      {error ? (
        <p className="error-banner" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
