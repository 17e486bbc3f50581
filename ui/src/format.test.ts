import { describe, expect, it } from 'vitest';
import {
  callDuration,
  costTotal,
  formatCost,
  formatDuration,
  formatMs,
  formatTime,
  providerLabel,
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
