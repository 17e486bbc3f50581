import { useState, type KeyboardEvent, type ReactNode } from 'react';
import { formatCost, formatCount, formatMs, plural } from '../format';
import type { History, HistoryPoint } from '../history';
import type { Bucket, TimeRange } from '../range';
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
  label: string;
  value: number;
}

/** What a chart needs to make its buckets pick a [from, to) for the table. */
interface Picking {
  bucket: number;
  selected: Bucket | null;
  onPick: (b: Bucket) => void;
}

/**
 * The buckets of one chart as buttons: click, or Enter/Space, narrows the table to that bucket.
 * One tab stop per chart (roving tabindex); the arrows, Home and End move between buckets.
 */
function Buckets({ points, pick, name, tip = name, kind, children }: {
  points: HistoryPoint[];
  pick: Picking;
  /** The bucket's accessible name; `tip` its tooltip (the figures by key, which tests read). */
  name: (p: HistoryPoint) => string;
  tip?: (p: HistoryPoint) => string;
  kind: 'bar' | 'point';
  children: (p: HistoryPoint, i: number, step: number) => ReactNode;
}) {
  const [cursor, setCursor] = useState<number | null>(null);
  const step = W / Math.max(points.length, 1);
  const chosen = points.findIndex((p) => p.t === pick.selected?.from);
  const stop = cursor !== null && cursor < points.length ? cursor : chosen >= 0 ? chosen : points.length - 1;
  const choose = (p: HistoryPoint) => pick.onPick({ from: p.t, to: p.t + pick.bucket });
  const onKey = (e: KeyboardEvent<SVGGElement>, i: number) => {
    const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: points.length - 1 }[e.key];
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      choose(points[i]!);
    } else if (to !== undefined && to >= 0 && to < points.length) {
      e.preventDefault();
      setCursor(to);
      e.currentTarget.ownerSVGElement?.querySelector<SVGGElement>(`g[data-i="${to}"]`)?.focus();
    }
  };
  return (
    <>
      {points.map((p, i) => (
        <g
          key={p.t}
          className={`bucket${kind === 'bar' ? ' bar' : ''}${i === chosen ? ' chosen' : ''}`}
          data-t={p.t}
          data-i={i}
          role="button"
          tabIndex={i === stop ? 0 : -1}
          aria-label={name(p)}
          aria-pressed={i === chosen}
          onClick={() => choose(p)}
          onKeyDown={(e) => onKey(e, i)}
          onFocus={() => setCursor(i)}
        >
          <title>{tip(p)}</title>
          <rect className="hit" x={i * step} y={0} width={step} height={H} />
          {children(p, i, step)}
        </g>
      ))}
    </>
  );
}

/** Stacked bars, one per bucket; each segment a rect with its key (for colour and tests). */
function StackedBars({ points, segments, id, title, unit, pick }: {
  points: HistoryPoint[];
  segments: (p: HistoryPoint) => Segment[];
  id: string;
  title: string;
  unit: (v: number) => string;
  pick: Picking;
}) {
  const totals = points.map((p) => segments(p).reduce((a, s) => a + s.value, 0));
  const max = Math.max(...totals, 0) || 1;
  const name = (p: HistoryPoint) => {
    const parts = segments(p).filter((s) => s.value > 0).map((s) => `${unit(s.value)} ${s.label}`);
    return `${title} ${when(p.t, pick.bucket)}: ${parts.length > 0 ? parts.join(', ') : 'none'}`;
  };
  const tip = (p: HistoryPoint) => `${when(p.t, pick.bucket)}: ${segments(p).map((s) => `${s.key} ${unit(s.value)}`).join(', ')}`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart-svg" data-testid={id} role="group" aria-label={`${title} per bucket: pick one to narrow the table`}>
      <Buckets points={points} pick={pick} name={name} tip={tip} kind="bar">
        {(p, i, step) => {
          let y = H;
          return segments(p).map((s) => {
            const h = (s.value / max) * (H - 4);
            y -= h;
            return s.value > 0 ? <rect key={s.key} className={`seg seg-${s.key}`} x={i * step + step * 0.1} y={y} width={step * 0.8} height={h} /> : null;
          });
        }}
      </Buckets>
    </svg>
  );
}

/** p50 and p95 lines; a ring marks buckets with too few turns to trust (n < FEW_TURNS). */
function LatencyLines({ points, pick }: { points: HistoryPoint[]; pick: Picking }) {
  const max = Math.max(...points.map((p) => p.latency_percentiles.p95), 0) || 1;
  const step = W / Math.max(points.length, 1);
  const xy = (i: number, v: number): [number, number] => [(i + 0.5) * step, H - 2 - (v / max) * (H - 6)];
  const line = (pick: 'p50' | 'p95') =>
    points
      .map((p, i) => (p.latency_percentiles.n > 0 ? xy(i, p.latency_percentiles[pick]).join(',') : null))
      .filter((v): v is string => v !== null)
      .join(' ');
  const name = (p: HistoryPoint) => {
    const l = p.latency_percentiles;
    const figures = l.n === 0 ? 'no turns' : `P50 ${formatMs(l.p50)}, P95 ${formatMs(l.p95)} over ${plural(l.n, 'turn')}${l.n < FEW_TURNS ? ' (too few to trust)' : ''}`;
    return `Turn latency ${when(p.t, pick.bucket)}: ${figures}`;
  };
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart-svg" data-testid="chart-latency" role="group" aria-label="Turn latency p50 and p95 per bucket: pick one to narrow the table">
      <polyline className="line line-p95" points={line('p95')} />
      <polyline className="line line-p50" points={line('p50')} />
      <Buckets points={points} pick={pick} name={name} kind="point">
        {(p, i) => {
          const l = p.latency_percentiles;
          if (l.n === 0) return null;
          const [x, y] = xy(i, l.p95);
          return (
            <circle className={`pt${l.n < FEW_TURNS ? ' few' : ''}`} cx={x} cy={y} r={l.n < FEW_TURNS ? 3.5 : 1.5} data-t={p.t}>
              <title>{`${when(p.t, pick.bucket)}: P50 ${formatMs(l.p50)} · P95 ${formatMs(l.p95)} over ${plural(l.n, 'turn')}${l.n < FEW_TURNS ? ' (too few to trust)' : ''}`}</title>
            </circle>
          );
        }}
      </Buckets>
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
export function HistoryCharts({ data, error, range, onRange, selected, onPick }: {
  data: History | null;
  error: string | null;
  range: TimeRange;
  onRange: (r: TimeRange) => void;
  /** The bucket the table is narrowed to (highlighted), and how to pick one. */
  selected: Bucket | null;
  onPick: (b: Bucket) => void;
}) {
  const points = data?.series ?? [];
  const pick: Picking = { bucket: data?.bucket_seconds ?? 3600, selected, onPick };
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
          <StackedBars points={points} pick={pick} id="chart-calls" title="Calls" unit={formatCount} segments={(p) => OUTCOMES.map((o) => ({ ...o, value: p.outcomes[o.key] }))} />
        </figure>
        <figure className="chart">
          <figcaption>
            Turn latency <span className="legend"><span className="legend-item"><span className="swatch line-p50" />P50</span><span className="legend-item"><span className="swatch line-p95" />P95</span><span className="legend-item"><span className="swatch few" />few turns</span></span>
          </figcaption>
          <LatencyLines points={points} pick={pick} />
        </figure>
        <figure className="chart">
          <figcaption>
            Cost <Legend items={COSTS} />
          </figcaption>
          <StackedBars points={points} pick={pick} id="chart-cost" title="Cost" unit={formatCost} segments={(p) => COSTS.map((c) => ({ ...c, value: p.cost_breakdown[c.key] }))} />
        </figure>
      </div>
    </section>
  );
}
