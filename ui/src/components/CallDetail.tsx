import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, UnauthorizedError, deleteCall, fetchCall } from '../api';
import type { CallMetrics, CallRecord, LatencyBreakdown, TranscriptLine, TurnMetrics } from '../types';
import {
  DASH,
  callDuration,
  formatCount,
  formatDuration,
  formatMs,
  formatOffset,
  formatTime,
  extraText,
  plural,
  recordingOffset,
  recordTurns,
  summariseTurns,
  waterfallScale,
  waterfallSteps,
} from '../format';
import { buildTimeline, describeDetail } from '../timeline';
import { DirectionTag, StatusBadge } from './Badges';
import { CostBreakdown } from './CostBreakdown';
import { FEW_TURNS } from './MetricsRow';
import { RecordingPlayer } from './RecordingPlayer';
import { Line } from './Transcript';
import { Waterfall } from './Waterfall';
import { Masked, Phone, RevealToggle } from './Phone';

interface Props {
  callId: string;
  /** Live state when the call is still active (fresher than a fetch). */
  live: CallRecord | undefined;
  /** Bumped when an event touched this call, to reload it. */
  version: number;
  onClose: () => void;
  onDeleted: (id: string) => void;
  /** False for sessions without the admin right (GET /api/me): no Delete button at all. */
  canDelete: boolean;
}

/** Side panel with everything known about one call. */
export function CallDetail({ callId, live, version, onClose, onDeleted, canDelete }: Props) {
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
        <RevealToggle testId="detail-reveal-numbers" />
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
      {record ? <DetailBody record={record} isLive={!!live} onDeleted={onDeleted} canDelete={canDelete} /> : null}
    </aside>
  );
}

interface BodyProps {
  record: CallRecord;
  isLive: boolean;
  onDeleted: (id: string) => void;
  canDelete: boolean;
}

function DetailBody({ record: r, isLive, onDeleted, canDelete }: BodyProps) {
  const m = r.metrics ?? null;
  const turns = recordTurns(r);
  const n = turns.length || r.turn_count || 0;
  const timeline = buildTimeline(r);
  const nowSeconds = Date.now() / 1000;
  const audio = useRef<HTMLAudioElement>(null);
  const rec = r.recording ?? null;
  const seek = useCallback((seconds: number) => {
    const el = audio.current;
    if (!el) return;
    el.currentTime = seconds;
    el.play().catch(() => undefined); // no audio device or no gesture: the seek still happened
  }, []);
  const turnTs = new Map(turns.map((t) => [t.turn_index, t.timestamp]));
  const seekTo = (line: TranscriptLine) =>
    rec ? recordingOffset(line.timestamp ?? (typeof line.turnIndex === 'number' ? turnTs.get(line.turnIndex) : null), rec.started_at) : null;

  return (
    <div className="detail-body">
      <p className="detail-numbers">
        <Phone value={r.caller} /> <span className="muted">→</span>{' '}
        <Phone value={r.callee} />
      </p>
      <dl className="facts">
        <Fact label="Status">
          <StatusBadge status={r.status} />
        </Fact>
        <Fact label="Error code" num>
          {m?.error_code || DASH}
        </Fact>
        {extraText(r.reason) ? (
          <Fact label="Reason" testId="fact-reason">
            <Masked text={extraText(r.reason)} />
          </Fact>
        ) : null}
        {extraText(r.sip_code) ? (
          <Fact label="SIP code" num testId="fact-sip">
            {extraText(r.sip_code)}
          </Fact>
        ) : null}
        <Fact label="Direction">
          <DirectionTag direction={r.direction} />
        </Fact>
        <Fact label="Started" num>
          {formatTime(r.started_at)}
        </Fact>
        <Fact label="Duration" num testId="fact-duration">
          {formatDuration(callDuration(r, isLive ? nowSeconds : undefined))}
        </Fact>
        <Fact label="Turns" num>
          {n}
        </Fact>
        <div className="wide">
          <dt>Call ID</dt>
          <dd className="num mono-small">{r.call_id}</dd>
        </div>
      </dl>

      <section className="detail-section" aria-labelledby="lat-title">
        <h3 id="lat-title">Latency</h3>
        {n === 0 ? <NoTurns isLive={isLive} status={r.status} /> : <Latency m={m} turns={turns} n={n} />}
      </section>

      <section className="detail-section" aria-labelledby="cost-title">
        <h3 id="cost-title">Cost</h3>
        <CostBreakdown cost={m?.cost ?? r.running_cost} label="Cost breakdown" />
      </section>

      <section className="detail-section" aria-labelledby="prov-title">
        <h3 id="prov-title">Providers</h3>
        <Providers m={m} />
      </section>

      {rec ? <RecordingPlayer rec={rec} audio={audio} /> : null}

      <section className="detail-section" aria-labelledby="tl-title">
        <h3 id="tl-title">Timeline</h3>
        {timeline.length === 0 ? <p className="muted small">No transcript.</p> : null}
        <ol className="timeline">
          {timeline.map((item, i) =>
            item.kind === 'line' ? (
              <Line key={`l${i}`} line={item.line} time={formatOffset(item.ts, r.started_at)} seekTo={seekTo(item.line)} onSeek={seek} />
            ) : (
              <li key={`e${i}`} className={`line line-event ev-${item.event.kind}`}>
                <span className="speaker">{item.event.kind}</span>
                <span className="line-time num">{formatOffset(item.ts, r.started_at)}</span>
                <span className="line-text">
                  {item.event.name ? <strong>{item.event.name}</strong> : null} <code>
                    <Masked text={describeDetail(item.event.detail)} />
                  </code>
                </span>
              </li>
            ),
          )}
        </ol>
      </section>

      {canDelete ? <DeleteButton id={r.call_id} disabled={isLive} onDeleted={onDeleted} /> : null}
    </div>
  );
}

function Fact({ label, num, testId, children }: { label: string; num?: boolean; testId?: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd className={num ? 'num' : undefined} data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

/** A call without turns (no answer, busy, failed before pickup) has no latency to draw. */
function NoTurns({ isLive, status }: { isLive: boolean; status: string | null | undefined }) {
  const text = isLive
    ? 'No completed turn yet.'
    : `No conversation took place${status ? ` (${status})` : ''}: no turns, so no latency.`;
  return (
    <p className="muted small" data-testid="no-turns">
      {text}
    </p>
  );
}

/** Average and P95 waterfalls over the call's turns, then the per-turn table. */
function Latency({ m, turns, n }: { m: CallMetrics | null; turns: TurnMetrics[]; n: number }) {
  const derived = summariseTurns(turns);
  const avg: LatencyBreakdown | null = m?.latency_avg ?? derived.avg;
  const p95: LatencyBreakdown | null = m?.latency_p95 ?? derived.p95;
  const scale = Math.max(waterfallScale(waterfallSteps(avg)), waterfallScale(waterfallSteps(p95)));
  return (
    <>
      {avg || p95 ? (
        <div className="wf-pair">
          <figure>
            <figcaption>
              Average <span className="muted">over {plural(n, 'turn')}</span>
            </figcaption>
            <Waterfall latency={avg} label="Average latency" scaleMs={scale} />
          </figure>
          <figure>
            <figcaption>
              P95{' '}
              <span className={n < FEW_TURNS ? 'warn-text' : 'muted'} data-testid="p95-note">
                {n < FEW_TURNS ? `only ${plural(n, 'turn')} — close to the slowest` : `over ${plural(n, 'turn')}`}
              </span>
            </figcaption>
            <Waterfall latency={p95} label="P95 latency" scaleMs={scale} />
          </figure>
        </div>
      ) : (
        <p className="muted small">No latency recorded.</p>
      )}
      {turns.length > 0 ? <TurnTable turns={turns} /> : null}
    </>
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
