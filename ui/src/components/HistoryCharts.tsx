import { formatCost, formatCount, formatMs, plural } from '../format';
import type { History, HistoryPoint } from '../history';
import type { TimeRange } from '../range';
import { RangeControl } from './RangeControl';
import { FEW_TURNS } from './MetricsRow';

const W = 600;
const H = 110;
const OUTCOMES = [
  { key: 'completed', label: 'completed' },
  { key: 'no_answer', label: 'no answer/busy' },
  { key: 'failed', label: 'failed' },
  { key: 'lost', label: 'lost' },
] as const;
const COSTS = [
  { key: 'stt', label: 'STT' },
  { key: 'llm', label: 'LLM' },
  { key: 'tts', label: 'TTS' },
  { key: 'telephony', label: 'Telephony' },
] as const;

function when(t: number, bucket: number): string {
  const d = new Date(t * 1000);
  return bucket >= 86400 ? d.toLocaleDateString() : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

interface Segment {
  key: string;
  value: number;
}

/** Stacked bars, one per bucket; each segment a rect with its key (for colour and tests). */
/** Names for screen readers (each bar's <title> has its figures). */
const CHART_LABELS: Record<string, string> = {
  'chart-calls': 'Calls per bucket by outcome',
  'chart-cost': 'Cost per bucket by component',
};

function StackedBars({ points, segments, bucket, id, unit }: {
  points: HistoryPoint[];
  segments: (p: HistoryPoint) => Segment[];
  bucket: number;
  id: string;
  unit: (v: number) => string;
}) {
  const totals = points.map((p) => segments(p).reduce((a, s) => a + s.value, 0));
  const max = Math.max(...totals, 0) || 1;
  const step = W / Math.max(points.length, 1);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart-svg" data-testid={id} role="img" aria-label={CHART_LABELS[id] ?? id}>
      {points.map((p, i) => {
        let y = H;
        return (
          <g key={p.t} className="bar" data-t={p.t}>
            <title>{`${when(p.t, bucket)}: ${segments(p).map((s) => `${s.key} ${unit(s.value)}`).join(', ')}`}</title>
            {segments(p).map((s) => {
              const h = (s.value / max) * (H - 4);
              y -= h;
              return s.value > 0 ? (
                <rect key={s.key} className={`seg seg-${s.key}`} x={i * step + step * 0.1} y={y} width={step * 0.8} height={h} />
              ) : null;
            })}
          </g>
        );
      })}
    </svg>
  );
}

/** p50 and p95 lines; a ring marks buckets with too few turns to trust (n < FEW_TURNS). */
function LatencyLines({ points, bucket }: { points: HistoryPoint[]; bucket: number }) {
  const max = Math.max(...points.map((p) => p.latency_percentiles.p95), 0) || 1;
  const step = W / Math.max(points.length, 1);
  const xy = (i: number, v: number) => `${(i + 0.5) * step},${H - 2 - (v / max) * (H - 6)}`;
  const line = (pick: 'p50' | 'p95') =>
    points
      .map((p, i) => (p.latency_percentiles.n > 0 ? xy(i, p.latency_percentiles[pick]) : null))
      .filter((v): v is string => v !== null)
      .join(' ');
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart-svg" data-testid="chart-latency" role="img" aria-label="Turn latency p50 and p95 per bucket">
      <polyline className="line line-p95" points={line('p95')} />
      <polyline className="line line-p50" points={line('p50')} />
      {points.map((p, i) => {
        const l = p.latency_percentiles;
        if (l.n === 0) return null;
        const [x, y] = xy(i, l.p95).split(',');
        return (
          <circle key={p.t} className={`pt${l.n < FEW_TURNS ? ' few' : ''}`} cx={x} cy={y} r={l.n < FEW_TURNS ? 3.5 : 1.5} data-t={p.t}>
            <title>{`${when(p.t, bucket)}: P50 ${formatMs(l.p50)} · P95 ${formatMs(l.p95)} over ${plural(l.n, 'turn')}${l.n < FEW_TURNS ? ' (too few to trust)' : ''}`}</title>
          </circle>
        );
      })}
    </svg>
  );
}

function Legend({ items }: { items: readonly { key: string; label: string }[] }) {
  return (
    <span className="legend">
      {items.map((i) => (
        <span key={i.key} className="legend-item">
          <span className={`swatch seg-${i.key}`} aria-hidden="true" />
          {i.label}
        </span>
      ))}
    </span>
  );
}

/** The operator's view over time: the page's range control and three charts over the whole log. */
export function HistoryCharts({ data, error, range, onRange }: {
  data: History | null;
  error: string | null;
  range: TimeRange;
  onRange: (r: TimeRange) => void;
}) {
  const points = data?.series ?? [];
  const bucket = data?.bucket_seconds ?? 3600;
  const t = data?.totals;
  return (
    <section className="history" aria-label="History">
      <div className="history-head">
        <RangeControl range={range} onRange={onRange} />
        {t ? (
          <span className="muted small" data-testid="history-summary">
            {plural(t.calls, 'call')} · {formatCost(t.total_cost)} ·{' '}
            {t.latency_percentiles.n > 0 ? `P95 ${formatMs(t.latency_percentiles.p95)} over ${plural(t.latency_percentiles.n, 'turn')}` : 'no turns'}
          </span>
        ) : null}
        {error ? <span className="error small">{error}</span> : null}
      </div>
      <div className="charts">
        <figure className="chart">
          <figcaption>
            Calls <Legend items={OUTCOMES} />
          </figcaption>
          <StackedBars points={points} bucket={bucket} id="chart-calls" unit={formatCount} segments={(p) => OUTCOMES.map((o) => ({ key: o.key, value: p.outcomes[o.key] }))} />
        </figure>
        <figure className="chart">
          <figcaption>
            Turn latency <span className="legend"><span className="legend-item"><span className="swatch line-p50" />P50</span><span className="legend-item"><span className="swatch line-p95" />P95</span><span className="legend-item"><span className="swatch few" />few turns</span></span>
          </figcaption>
          <LatencyLines points={points} bucket={bucket} />
        </figure>
        <figure className="chart">
          <figcaption>
            Cost <Legend items={COSTS} />
          </figcaption>
          <StackedBars points={points} bucket={bucket} id="chart-cost" unit={formatCost} segments={(p) => COSTS.map((c) => ({ key: c.key, value: p.cost_breakdown[c.key] }))} />
        </figure>
      </div>
    </section>
  );
}
