import { describe, expect, it } from 'vitest';
import { applyEvent, mergeSnapshot, orderedCalls, type ActiveCalls } from './live';
import type { StreamEvent } from './types';

let seq = 0;
function ev(type: string, data: Record<string, unknown>): StreamEvent {
  seq += 1;
  return { type, seq, data: { seq, ts: 1000 + seq, ...data } };
}

function fold(events: StreamEvent[], start: ActiveCalls = {}): ActiveCalls {
  return events.reduce((s, e) => applyEvent(s, e).state, start);
}

describe('live fold', () => {
  it('builds a call from start, transcript and turns', () => {
    const s = fold([
      ev('call_start', { call_id: 'c1', caller: '+1555', callee: '+1666', direction: 'inbound' }),
      ev('transcript_line', { call_id: 'c1', turnIndex: 0, role: 'user', text: 'hello' }),
      ev('transcript_line', { call_id: 'c1', turnIndex: 0, role: 'assistant', text: 'hi!' }),
      ev('turn_complete', {
        call_id: 'c1',
        turn: { turn_index: 0, user_text: 'hello', agent_text: 'hi!', latency: { stt_ms: 1, llm_ms: 2, tts_ms: 3, total_ms: 6 } },
        running_cost: { stt: 0.001, total: 0.002 },
      }),
    ]);
    const c = s.c1!;
    expect(c.caller).toBe('+1555');
    expect(c.status).toBe('in-progress');
    expect(c.transcript?.map((l) => l.text)).toEqual(['hello', 'hi!']);
    expect(c.turns).toHaveLength(1);
    expect(c.running_cost?.total).toBe(0.002);
  });

  it('mirrors turn text not yet streamed, but never [interrupted] agent text', () => {
    const s = fold([
      ev('call_start', { call_id: 'c1' }),
      ev('turn_complete', { call_id: 'c1', turn: { turn_index: 0, user_text: 'a', agent_text: 'b' } }),
      ev('turn_complete', { call_id: 'c1', turn: { turn_index: 1, user_text: 'c', agent_text: 'd [interrupted]' } }),
    ]);
    expect(s.c1!.transcript?.map((l) => `${l.role}:${l.text}`)).toEqual(['user:a', 'assistant:b', 'user:c']);
  });

  it('removes the call on call_end and on a terminal status, asking for a history refresh', () => {
    const s = fold([ev('call_start', { call_id: 'c1' }), ev('call_initiated', { call_id: 'c2', status: 'initiated' })]);
    const ended = applyEvent(s, ev('call_end', { call_id: 'c1', metrics: {} }));
    expect(Object.keys(ended.state)).toEqual(['c2']);
    expect(ended.effects.refreshHistory).toBe(true);
    const busy = applyEvent(ended.state, ev('call_status', { call_id: 'c2', status: 'busy' }));
    expect(busy.state).toEqual({});
    expect(busy.effects.refreshHistory).toBe(true);
  });

  it('sums per-turn cost extras into the running cost, once per turn', () => {
    const cost = { stt: 0.001, tts: 0.002, llm: 0.003, telephony: 0.004, total: 0.01 };
    const s = fold([
      ev('call_start', { call_id: 'c1' }),
      ev('turn_complete', { call_id: 'c1', turn: { turn_index: 0, cost } }),
      ev('turn_complete', { call_id: 'c1', turn: { turn_index: 1, cost } }),
      ev('turn_complete', { call_id: 'c1', turn: { turn_index: 1, cost } }),
    ]);
    expect(s.c1!.running_cost?.total).toBeCloseTo(0.02);
    expect(s.c1!.running_cost?.telephony).toBeCloseTo(0.008);
  });

  it('asks for aggregates when a new call appears', () => {
    expect(applyEvent({}, ev('call_start', { call_id: 'x' })).effects.refreshAggregates).toBe(true);
  });

  it('lists deleted ids', () => {
    const r = applyEvent({}, ev('calls_deleted', { call_ids: ['a', 'b'] }));
    expect(r.effects.deleted).toEqual(['a', 'b']);
  });

  it('appends call events to active calls only', () => {
    const s = fold([ev('call_start', { call_id: 'c1' }), ev('call_event', { call_id: 'c1', kind: 'tool_call', name: 'lookup', detail: { q: 1 } })]);
    expect(s.c1!.events?.[0]?.name).toBe('lookup');
    expect(applyEvent({}, ev('call_event', { call_id: 'zz', kind: 'error' })).state).toEqual({});
  });

  it('merges a snapshot with events seen while it loaded, without duplicates', () => {
    const pending = [
      ev('transcript_line', { call_id: 'c1', turnIndex: 0, role: 'user', text: 'hello' }),
      ev('transcript_line', { call_id: 'c1', turnIndex: 1, role: 'user', text: 'again' }),
      ev('call_end', { call_id: 'gone' }),
    ];
    const merged = mergeSnapshot(
      [
        { call_id: 'c1', status: 'in-progress', started_at: 5, transcript: [{ role: 'user', text: 'hello', turnIndex: 0 }] },
        { call_id: 'gone', status: 'in-progress', started_at: 6 },
      ],
      pending,
    );
    expect(Object.keys(merged)).toEqual(['c1']);
    expect(merged.c1!.transcript?.map((l) => l.text)).toEqual(['hello', 'again']);
  });

  it('orders active calls newest first', () => {
    const s: ActiveCalls = { a: { call_id: 'a', started_at: 1 }, b: { call_id: 'b', started_at: 2 } };
    expect(orderedCalls(s).map((c) => c.call_id)).toEqual(['b', 'a']);
  });
});
