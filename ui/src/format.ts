/** Pure formatting and derivation helpers shared by the views (unit-tested). */
import type { Aggregates, CallMetrics, CallRecord, CostBreakdown, IngestRejections, LatencyBreakdown, TurnMetrics } from './types';

export const DASH = '—';

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** Dollars: 2 decimals from $1, 4 below (per-call costs are fractions of a cent). */
export function formatCost(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  if (v === 0) return '$0.00';
  const abs = Math.abs(v);
  return `${v < 0 ? '-' : ''}$${abs >= 1 ? abs.toFixed(2) : abs.toFixed(4)}`;
}

/** Seconds as m:ss, or h:mm:ss from one hour. */
export function formatDuration(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return DASH;
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Milliseconds: "840 ms" below 10 s, else seconds with one decimal. */
export function formatMs(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  if (Math.abs(ms) >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

export function formatCount(n: number | null | undefined): string {
  return finite(n) ? Math.round(n).toLocaleString('en-US') : DASH;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local clock time; the date is added when the call is not from today. */
export function formatTime(epochSeconds: number | null | undefined, now: Date = new Date()): string {
  if (!finite(epochSeconds)) return DASH;
  const d = new Date(epochSeconds * 1000);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const sameDay =
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

/** Offset from the call start as +m:ss. */
export function formatOffset(ts: number | null | undefined, start: number | null | undefined): string {
  if (!finite(ts) || !finite(start)) return '';
  return `+${formatDuration(Math.max(0, ts - start))}`;
}

/** Epoch seconds from an epoch number (s or ms) or an ISO string. */
export function toEpochSeconds(v: unknown): number | null {
  if (finite(v)) return v > 1e12 ? v / 1000 : v;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n > 1e12 ? n / 1000 : n;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t / 1000;
  }
  return null;
}

/** Seconds into a recording that started at `recordingStart` for a moment `at`; null unless both are known. */
export function recordingOffset(at: unknown, recordingStart: unknown): number | null {
  const t = toEpochSeconds(at);
  const start = toEpochSeconds(recordingStart);
  if (t === null || start === null) return null;
  return Math.max(0, t - start);
}

export interface WaterfallStep {
  key: 'stt' | 'llm' | 'tts' | 'total';
  label: string;
  ms: number | null;
  /** Start offset of the bar in ms (sequential steps start where the last ended). */
  startMs: number;
}

/** STT, LLM first token, TTS first byte, total — per the Patter field names. */
export function waterfallSteps(l: LatencyBreakdown | null | undefined): WaterfallStep[] {
  const num = (v: number | null | undefined): number | null => (finite(v) ? v : null);
  const stt = num(l?.stt_ms);
  const llm = num(l?.llm_ttft_ms ?? l?.llm_ms);
  const tts = num(l?.tts_ms);
  const total = num(l?.agent_response_ms ?? l?.total_ms);
  const steps: WaterfallStep[] = [];
  let cursor = 0;
  for (const [key, label, ms] of [
    ['stt', 'STT', stt],
    ['llm', 'LLM first token', llm],
    ['tts', 'TTS first byte', tts],
  ] as const) {
    steps.push({ key, label, ms, startMs: cursor });
    cursor += ms ?? 0;
  }
  steps.push({ key: 'total', label: 'Total', ms: total, startMs: 0 });
  return steps;
}

/** The scale of a waterfall: the longest of the total and the stacked steps. */
export function waterfallScale(steps: WaterfallStep[]): number {
  let max = 0;
  for (const s of steps) max = Math.max(max, s.startMs + (s.ms ?? 0));
  return max;
}

/** Headline latency of a breakdown: agent response, else total. */
export function headlineLatency(l: LatencyBreakdown | null | undefined): number | null {
  const v = l?.agent_response_ms ?? l?.total_ms;
  return finite(v) && v > 0 ? v : null;
}

/** Mean and nearest-rank P95 of per-turn breakdowns (for live calls without metrics). */
export function summariseTurns(turns: TurnMetrics[]): { avg: LatencyBreakdown | null; p95: LatencyBreakdown | null } {
  const keys = ['stt_ms', 'llm_ms', 'tts_ms', 'total_ms', 'llm_ttft_ms', 'agent_response_ms'] as const;
  const avg: LatencyBreakdown = { stt_ms: null, llm_ms: null, tts_ms: null, total_ms: null };
  const p95: LatencyBreakdown = { stt_ms: null, llm_ms: null, tts_ms: null, total_ms: null };
  let any = false;
  for (const k of keys) {
    const vals = turns.map((t) => t.latency?.[k]).filter(finite).sort((a, b) => a - b);
    if (vals.length === 0) continue;
    any = true;
    avg[k] = vals.reduce((a, b) => a + b, 0) / vals.length;
    p95[k] = vals[Math.min(vals.length - 1, Math.ceil(0.95 * vals.length) - 1)] ?? null;
  }
  return any ? { avg, p95 } : { avg: null, p95: null };
}

/** Turns of a record: the top-level list, else the metrics' list. */
export function recordTurns(r: CallRecord): TurnMetrics[] {
  if (r.turns && r.turns.length > 0) return r.turns;
  return r.metrics?.turns ?? [];
}

export function turnCount(r: CallRecord): number | null {
  if (finite(r.turn_count)) return r.turn_count;
  const t = recordTurns(r);
  if (t.length > 0) return t.length;
  return r.metrics ? 0 : null;
}

export function callDuration(r: CallRecord, nowSeconds?: number): number | null {
  if (finite(r.metrics?.duration_seconds)) return r.metrics.duration_seconds;
  if (finite(r.started_at) && finite(r.ended_at)) return r.ended_at - r.started_at;
  if (finite(r.started_at) && finite(nowSeconds)) return Math.max(0, nowSeconds - r.started_at);
  return null;
}

/** A short provider label: the pipeline's STT·LLM·TTS or the one realtime provider. */
export function providerLabel(m: CallMetrics | null | undefined): string {
  if (!m) return DASH;
  const parts = [m.stt_provider, m.llm_provider, m.tts_provider].filter((p): p is string => !!p);
  if (m.provider_mode === 'pipeline' && parts.length > 0) return [...new Set(parts)].join(' · ');
  return m.llm_provider || parts[0] || m.telephony_provider || DASH;
}

export const COST_KEYS = ['stt', 'llm', 'tts', 'telephony'] as const;

/** Total of a cost object: its own total, else the sum of the components. */
export function costTotal(c: CostBreakdown | null | undefined): number | null {
  if (!c) return null;
  if (finite(c.total)) return c.total;
  let sum = 0;
  let any = false;
  for (const k of COST_KEYS) {
    const v = c[k];
    if (finite(v)) {
      sum += v;
      any = true;
    }
  }
  return any ? sum : null;
}

/** "1 turn", "2 turns", "0 turns"; the count formatted with thousands separators. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export interface OutcomePart {
  key: 'completed' | 'failed' | 'no_answer' | 'lost' | 'ended' | 'live';
  text: string;
}

/** The Total Calls note: how ended calls ended (completed is not every end), then the live ones. */
export function outcomeSplit(a: Aggregates): OutcomePart[] {
  const o = a.outcomes;
  const live: OutcomePart = { key: 'live', text: `${formatCount(a.active_calls)} live` };
  // An older server sends no split: "ended" claims nothing about how they ended.
  if (!o) return [{ key: 'ended', text: `${formatCount(a.total_calls)} ended` }, live];
  const parts: OutcomePart[] = [{ key: 'completed', text: `${formatCount(o.completed)} completed` }];
  if (o.failed > 0) parts.push({ key: 'failed', text: `${formatCount(o.failed)} failed` });
  if (o.no_answer > 0) parts.push({ key: 'no_answer', text: `${formatCount(o.no_answer)} no answer/busy` });
  if (o.lost > 0) parts.push({ key: 'lost', text: `${formatCount(o.lost)} lost` });
  return [...parts, live];
}

/** "12 ingest requests refused in the last hour: missing token", reasons by count. */
export function rejectionsText(r: IngestRejections): string {
  const reasons = Object.entries(r.by_reason)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  const why = reasons.length === 1 ? reasons[0]![0] : reasons.map(([reason, n]) => `${reason} (${formatCount(n)})`).join(', ');
  const minutes = Math.round(r.window_seconds / 60);
  const window = minutes === 60 ? 'hour' : minutes % 60 === 0 ? `${minutes / 60} hours` : `${plural(minutes, 'minute')}`;
  const head = `${plural(r.total, 'ingest request')} refused in the last ${window}`;
  return why ? `${head}: ${why}` : head;
}

/** What a call_status extra holds, as text ("" when absent). */
export function extraText(v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}
