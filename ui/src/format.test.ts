import { describe, expect, it } from 'vitest';
import {
  recordingOffset,
  callDuration,
  costTotal,
  formatCost,
  formatDuration,
  formatMs,
  formatTime,
  outcomeSplit,
  plural,
  providerLabel,
  rejectionsText,
  summariseTurns,
  toEpochSeconds,
  waterfallScale,
  waterfallSteps,
} from './format';

describe('formatting', () => {
  it.each([
    [null, '—'],
    [0, '$0.00'],
    [0.01234, '$0.0123'],
    [12.345, '$12.35'],
  ])('formatCost(%s) = %s', (v, out) => expect(formatCost(v)).toBe(out));

  it.each([
    [null, '—'],
    [0, '0:00'],
    [65.9, '1:05'],
    [3725, '1:02:05'],
  ])('formatDuration(%s) = %s', (v, out) => expect(formatDuration(v)).toBe(out));

  it.each([
    [undefined, '—'],
    [812.4, '812 ms'],
    [12500, '12.5 s'],
  ])('formatMs(%s) = %s', (v, out) => expect(formatMs(v)).toBe(out));

  it('shows the date only for calls not from today', () => {
    const now = new Date(2026, 10, 27, 12, 0, 0);
    expect(formatTime(new Date(2026, 10, 27, 9, 5, 7).getTime() / 1000, now)).toBe('09:05:07');
    expect(formatTime(new Date(2026, 10, 26, 9, 5, 7).getTime() / 1000, now)).toBe('2026-11-26 09:05:07');
  });

  it('reads epoch seconds, epoch ms and ISO strings', () => {
    expect(toEpochSeconds(1700000000.5)).toBe(1700000000.5);
    expect(toEpochSeconds(1700000000500)).toBe(1700000000.5);
    expect(toEpochSeconds('2023-11-14T22:13:20Z')).toBe(1700000000);
    expect(toEpochSeconds('nope')).toBeNull();
  });
});

describe('waterfall', () => {
  it('prefers llm_ttft_ms and agent_response_ms and stacks the steps', () => {
    const steps = waterfallSteps({ stt_ms: 100, llm_ms: 900, llm_ttft_ms: 300, tts_ms: 150, total_ms: 700, agent_response_ms: 620 });
    expect(steps.map((s) => [s.key, s.ms, s.startMs])).toEqual([
      ['stt', 100, 0],
      ['llm', 300, 100],
      ['tts', 150, 400],
      ['total', 620, 0],
    ]);
    expect(waterfallScale(steps)).toBe(620);
  });

  it('falls back to llm_ms and total_ms', () => {
    const steps = waterfallSteps({ stt_ms: 100, llm_ms: 400, tts_ms: 200, total_ms: 800 });
    expect(steps[1]?.ms).toBe(400);
    expect(steps[3]?.ms).toBe(800);
  });

  it('tolerates missing latency', () => {
    expect(waterfallSteps(null).every((s) => s.ms === null)).toBe(true);
  });

  it('summarises turns with mean and nearest-rank p95', () => {
    const turns = [100, 200, 300, 400].map((t, i) => ({
      turn_index: i,
      latency: { stt_ms: t, llm_ms: null, tts_ms: null, total_ms: t * 2 },
    }));
    const { avg, p95 } = summariseTurns(turns);
    expect(avg?.stt_ms).toBe(250);
    expect(p95?.total_ms).toBe(800);
    expect(summariseTurns([]).avg).toBeNull();
  });
});

describe('records', () => {
  it('labels pipeline providers and realtime providers', () => {
    expect(providerLabel({ provider_mode: 'pipeline', stt_provider: 'deepgram', llm_provider: 'openai', tts_provider: 'elevenlabs' })).toBe(
      'deepgram · openai · elevenlabs',
    );
    expect(providerLabel({ provider_mode: 'openai_realtime', llm_provider: 'openai' })).toBe('openai');
    expect(providerLabel(null)).toBe('—');
  });

  it('sums cost components when total is absent', () => {
    expect(costTotal({ stt: 0.01, llm: 0.02 })).toBeCloseTo(0.03);
    expect(costTotal({ total: 1, stt: 5 })).toBe(1);
    expect(costTotal(null)).toBeNull();
  });

  it('derives duration from metrics, then timestamps, then the clock', () => {
    expect(callDuration({ call_id: 'a', metrics: { duration_seconds: 42 } })).toBe(42);
    expect(callDuration({ call_id: 'a', started_at: 10, ended_at: 25 })).toBe(15);
    expect(callDuration({ call_id: 'a', started_at: 10 }, 70)).toBe(60);
  });
});

describe('counted words', () => {
  it.each([
    [0, '0 turns'],
    [1, '1 turn'],
    [2, '2 turns'],
    [1200, '1,200 turns'],
  ])('plural(%s) = %s', (n, out) => expect(plural(n, 'turn')).toBe(out));

  it('splits ended calls by outcome, completed first, live last', () => {
    const a = { total_calls: 14, total_cost: 0, avg_duration: 0, avg_latency_ms: 0, active_calls: 2 };
    expect(outcomeSplit({ ...a, outcomes: { completed: 9, failed: 1, no_answer: 3, lost: 1 } }).map((p) => p.text)).toEqual([
      '9 completed',
      '1 failed',
      '3 no answer/busy',
      '1 lost',
      '2 live',
    ]);
    expect(outcomeSplit({ ...a, outcomes: { completed: 14, failed: 0, no_answer: 0, lost: 0 } }).map((p) => p.text)).toEqual([
      '14 completed',
      '2 live',
    ]);
    // A server without the split: never call every ended call "completed".
    expect(outcomeSplit(a).map((p) => p.text)).toEqual(['14 ended', '2 live']);
  });

  it('words the refused-ingest notice', () => {
    expect(rejectionsText({ window_seconds: 3600, total: 12, by_reason: { 'missing token': 12 } })).toBe(
      '12 ingest requests refused in the last hour: missing token',
    );
    expect(rejectionsText({ window_seconds: 3600, total: 1, by_reason: { 'wrong token': 1, 'bad json': 0 } })).toBe(
      '1 ingest request refused in the last hour: wrong token',
    );
    expect(rejectionsText({ window_seconds: 600, total: 5, by_reason: { 'missing token': 2, 'wrong token': 3 } })).toBe(
      '5 ingest requests refused in the last 10 minutes: wrong token (3), missing token (2)',
    );
  });
});

describe('recording offsets', () => {
  it('is the line time minus the recording start, when both are known', () => {
    expect(recordingOffset(1_000_010, 1_000_000)).toBe(10);
    expect(recordingOffset('1970-01-12T13:46:50Z', 1_000_000)).toBe(10);
    expect(recordingOffset(999_999, 1_000_000)).toBe(0);
    expect(recordingOffset(null, 1_000_000)).toBeNull();
    expect(recordingOffset(1_000_010, null)).toBeNull();
  });
});
