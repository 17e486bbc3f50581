/** Pure fold of SSE events into the set of active (live) calls. */
import type { CallEventEntry, CallRecord, CostBreakdown, StreamEvent, TranscriptLine, TurnMetrics } from './types';
import { TERMINAL_STATUSES } from './types';

export type ActiveCalls = Readonly<Record<string, CallRecord>>;

/** What the app must do besides re-rendering the rail after an event. */
export interface Effects {
  /** The table and aggregates changed (a call finished or was deleted). */
  refreshHistory: boolean;
  /** The active count changed (a call began). */
  refreshAggregates: boolean;
  /** Calls whose detail panel should be reloaded or closed. */
  touched: string[];
  deleted: string[];
}

const NO_EFFECTS: Effects = { refreshHistory: false, refreshAggregates: false, touched: [], deleted: [] };

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function eventTs(ev: StreamEvent): number | undefined {
  return num(ev.data.ts);
}

function blank(callId: string, ts: number | undefined): CallRecord {
  return { call_id: callId, status: 'in-progress', started_at: ts ?? null, transcript: [], turns: [], events: [] };
}

/** Adds a transcript line unless the same (turnIndex, role) — or, without an index, the same text — is there. */
export function addLine(lines: TranscriptLine[], line: TranscriptLine): TranscriptLine[] {
  const idx = line.turnIndex;
  const dup = lines.some((l) =>
    idx !== null && idx !== undefined
      ? l.turnIndex === idx && l.role === line.role
      : (l.turnIndex === null || l.turnIndex === undefined) && l.role === line.role && l.text === line.text,
  );
  return dup ? lines : [...lines, line];
}

function addTurn(turns: TurnMetrics[], turn: TurnMetrics): TurnMetrics[] {
  const rest = turns.filter((t) => t.turn_index !== turn.turn_index);
  return [...rest, turn].sort((a, b) => a.turn_index - b.turn_index);
}

function mirrorTurn(lines: TranscriptLine[], turn: TurnMetrics): TranscriptLine[] {
  let out = lines;
  if (turn.user_text) out = addLine(out, { role: 'user', text: turn.user_text, turnIndex: turn.turn_index });
  if (turn.agent_text && !turn.agent_text.includes('[interrupted]')) {
    out = addLine(out, { role: 'assistant', text: turn.agent_text, turnIndex: turn.turn_index });
  }
  return out;
}

function withCall(state: ActiveCalls, id: string, ts: number | undefined, f: (c: CallRecord) => CallRecord): ActiveCalls {
  const current = state[id] ?? blank(id, ts);
  return { ...state, [id]: f(current) };
}

function without(state: ActiveCalls, ids: string[]): ActiveCalls {
  const next: Record<string, CallRecord> = { ...state };
  for (const id of ids) delete next[id];
  return next;
}

function identity(c: CallRecord, d: Record<string, unknown>): CallRecord {
  return {
    ...c,
    caller: str(d.caller) ?? c.caller ?? null,
    callee: str(d.callee) ?? c.callee ?? null,
    direction: str(d.direction) ?? c.direction ?? null,
  };
}

/** Sums per-turn `cost` extras the way the server builds `running_cost`; null when no turn has one. */
export function sumTurnCosts(turns: TurnMetrics[]): CostBreakdown | null {
  const keys = ['stt', 'tts', 'llm', 'telephony', 'total'] as const;
  const out: Record<(typeof keys)[number], number> = { stt: 0, tts: 0, llm: 0, telephony: 0, total: 0 };
  let any = false;
  for (const t of turns) {
    const cost = t.cost;
    if (!cost || typeof cost !== 'object') continue;
    any = true;
    for (const k of keys) {
      const v = cost[k];
      if (typeof v === 'number' && Number.isFinite(v)) out[k] += v;
    }
  }
  return any ? out : null;
}

/** The running cost: as sent on the event, else summed from the turns, else as it was. */
function runningCost(c: CallRecord, d: Record<string, unknown>): CallRecord {
  const rc = d.running_cost;
  if (rc && typeof rc === 'object') return { ...c, running_cost: rc as CostBreakdown };
  const summed = sumTurnCosts(c.turns ?? []);
  return summed ? { ...c, running_cost: summed } : c;
}

/** Applies one SSE event; returns the next state and the side effects it calls for. */
export function applyEvent(state: ActiveCalls, ev: StreamEvent): { state: ActiveCalls; effects: Effects } {
  const d = ev.data;
  const id = str(d.call_id);
  const ts = eventTs(ev);
  switch (ev.type) {
    case 'call_initiated':
    case 'call_start': {
      if (!id) return { state, effects: NO_EFFECTS };
      const status = str(d.status) ?? (ev.type === 'call_start' ? 'in-progress' : 'initiated');
      if (TERMINAL_STATUSES.has(status)) {
        return { state: without(state, [id]), effects: { ...NO_EFFECTS, refreshHistory: true, touched: [id] } };
      }
      const next = withCall(state, id, ts, (c) => runningCost({ ...identity(c, d), status }, d));
      return { state: next, effects: { ...NO_EFFECTS, refreshAggregates: !state[id], touched: [id] } };
    }
    case 'call_status': {
      if (!id) return { state, effects: NO_EFFECTS };
      const status = str(d.status);
      if (status && TERMINAL_STATUSES.has(status)) {
        return { state: without(state, [id]), effects: { ...NO_EFFECTS, refreshHistory: true, touched: [id] } };
      }
      const next = withCall(state, id, ts, (c) => runningCost({ ...c, status: status ?? c.status ?? null }, d));
      return { state: next, effects: { ...NO_EFFECTS, refreshAggregates: !state[id], touched: [id] } };
    }
    case 'transcript_line': {
      if (!id || typeof d.text !== 'string') return { state, effects: NO_EFFECTS };
      const line: TranscriptLine = {
        role: str(d.role) ?? 'user',
        text: d.text,
        turnIndex: num(d.turnIndex) ?? null,
        timestamp: ts ?? null,
      };
      const next = withCall(state, id, ts, (c) => ({ ...c, transcript: addLine(c.transcript ?? [], line) }));
      return { state: next, effects: { ...NO_EFFECTS, refreshAggregates: !state[id], touched: [id] } };
    }
    case 'turn_complete': {
      const turn = d.turn as TurnMetrics | undefined;
      if (!id || !turn || typeof turn !== 'object' || typeof turn.turn_index !== 'number') {
        return { state, effects: NO_EFFECTS };
      }
      const next = withCall(state, id, ts, (c) =>
        runningCost(
          { ...c, turns: addTurn(c.turns ?? [], turn), transcript: mirrorTurn(c.transcript ?? [], turn) },
          d,
        ),
      );
      return { state: next, effects: { ...NO_EFFECTS, refreshAggregates: !state[id], touched: [id] } };
    }
    case 'call_event': {
      if (!id || !state[id]) return { state, effects: { ...NO_EFFECTS, touched: id ? [id] : [] } };
      const entry: CallEventEntry = { kind: str(d.kind) ?? 'event', name: str(d.name) ?? null, detail: d.detail, ts: ts ?? null };
      const next = withCall(state, id, ts, (c) => ({ ...c, events: [...(c.events ?? []), entry] }));
      return { state: next, effects: { ...NO_EFFECTS, touched: [id] } };
    }
    case 'call_end': {
      if (!id) return { state, effects: NO_EFFECTS };
      return { state: without(state, [id]), effects: { ...NO_EFFECTS, refreshHistory: true, touched: [id] } };
    }
    case 'calls_deleted': {
      const ids = Array.isArray(d.call_ids) ? d.call_ids.filter((x): x is string => typeof x === 'string') : [];
      return { state: without(state, ids), effects: { ...NO_EFFECTS, refreshHistory: true, deleted: ids } };
    }
    default:
      return { state, effects: NO_EFFECTS };
  }
}

/** Folds a snapshot of /active with the events that arrived while it was fetched. */
export function mergeSnapshot(snapshot: CallRecord[], pending: StreamEvent[]): ActiveCalls {
  let state: ActiveCalls = {};
  for (const r of snapshot) {
    if (r.status && TERMINAL_STATUSES.has(r.status)) continue;
    state = { ...state, [r.call_id]: { ...r, transcript: r.transcript ?? [], turns: r.turns ?? [], events: r.events ?? [] } };
  }
  for (const ev of pending) state = applyEvent(state, ev).state;
  return state;
}

/** Active calls newest first. */
export function orderedCalls(state: ActiveCalls): CallRecord[] {
  return Object.values(state).sort((a, b) => (b.started_at ?? 0) - (a.started_at ?? 0));
}
