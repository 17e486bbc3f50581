import { Fragment, type ReactNode } from 'react';
import type { Aggregates } from '../types';
import { formatCost, formatCount, formatDuration, formatMs, outcomeSplit, plural } from '../format';

/** Below this many turns a P95 is little more than the maximum. */
export const FEW_TURNS = 20;

/** Per-bucket values of the chosen time range, oldest first (from the history charts). */
export interface Trends {
  calls: number[];
  cost: number[];
  duration: number[];
  latency: number[];
}

interface Props {
  /** The figures of the chosen range (the history's totals; live calls as they are now). */
  aggregates: Aggregates | null;
  trends?: Trends | null;
  /** What the figures cover, in words ("last 24 hours"): shown on every card. */
  label?: string | undefined;
  /** Whether the range runs up to now, so the calls live right now count in its total. */
  countsLive?: boolean;
}

/** A small trend line of one metric over the chosen time range (no axes: the charts have them). */
function Sparkline({ values, id }: { values: number[] | undefined; id: string }) {
  if (!values || values.length < 2) return null;
  const max = Math.max(...values) || 1;
  const step = 100 / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(2)},${(18 - (v / max) * 16).toFixed(2)}`).join(' ');
  return (
    <svg className="sparkline" viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true" data-testid={`${id}-trend`}>
      <polyline points={points} />
    </svg>
  );
}

interface MetricProps {
  trend?: number[] | undefined;
  label: string;
  value: string;
  note?: string | undefined;
  id: string;
  range?: string | undefined;
  /** Replaces the plain note (e.g. the outcome split); `note` stays its tooltip. */
  children?: ReactNode;
}

function Metric({ label, value, note, id, children, trend, range }: MetricProps) {
  return (
    <div className="metric" role="group" aria-label={range ? `${label}, ${range}` : label}>
      <div className="metric-label">
        {label}
        {range ? <span className="metric-range"> · {range}</span> : null}
      </div>
      <div className="metric-value num" data-testid={id}>
        {value}
      </div>
      {children ?? (note ? (
        <div className="metric-note" title={note}>
          {note}
        </div>
      ) : null)}
      <Sparkline values={trend} id={id} />
    </div>
  );
}

/** "9 completed · 1 failed · 2 live": each part its own element, for styling and tests. */
function OutcomeNote({ a }: { a: Aggregates }) {
  const parts = outcomeSplit(a);
  const all = parts.map((p) => p.text).join(' · ');
  return (
    <div className="metric-note outcomes" title={all} data-testid="outcomes">
      {parts.map((p, i) => (
        <Fragment key={p.key}>
          {/* the separator stays outside the unbreakable part: the note wraps there */}
          {i > 0 ? ' · ' : ''}
          <span className={`outcome outcome-${p.key}`} data-outcome={p.key}>
            {p.text}
          </span>
        </Fragment>
      ))}
    </div>
  );
}

/** Total Calls (ended + live, with how they ended), Total Cost, Avg Duration, Avg Latency, turn P95. */
export function MetricsRow({ aggregates: a, trends, label, countsLive = true }: Props) {
  const pct = a?.latency_percentiles;
  const n = pct?.n ?? 0;
  const p95Note = !pct || n === 0 ? 'no turns yet' : n < FEW_TURNS ? `only ${plural(n, 'turn')} · indicative` : `over ${plural(n, 'turn')}`;
  const breakdown = a?.cost_breakdown;
  const costNote = breakdown
    ? `STT ${formatCost(breakdown.stt)} · LLM ${formatCost(breakdown.llm)} · TTS ${formatCost(breakdown.tts)} · Tel ${formatCost(breakdown.telephony)}`
    : undefined;
  return (
    <section className="metrics" aria-label={label ? `Summary metrics, ${label}` : 'Summary metrics'}>
      <Metric
        id="metric-total-calls"
        label="Total Calls"
        range={label}
        value={a ? formatCount(a.total_calls + (countsLive ? a.active_calls : 0)) : '…'}
        trend={trends?.calls}
      >
        {a ? <OutcomeNote a={a} /> : null}
      </Metric>
      <Metric id="metric-total-cost" label="Total Cost" value={a ? formatCost(a.total_cost) : '…'} note={costNote} trend={trends?.cost} range={label} />
      <Metric id="metric-avg-duration" label="Avg Duration" value={a ? formatDuration(a.avg_duration) : '…'} trend={trends?.duration} range={label} />
      <Metric
        id="metric-avg-latency"
        label="Avg Latency"
        value={a ? formatMs(a.avg_latency_ms || null) : '…'}
        note={pct && n > 0 ? `P50 ${formatMs(pct.p50)} · P99 ${formatMs(pct.p99)}` : undefined}
        trend={trends?.latency}
        range={label}
      />
      <Metric id="metric-p95" label="Latency P95" value={a ? formatMs(n > 0 ? pct?.p95 : null) : '…'} note={a ? p95Note : undefined} range={label} />
    </section>
  );
}
