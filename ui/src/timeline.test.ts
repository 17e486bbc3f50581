import { describe, expect, it } from 'vitest';
import { buildTimeline, describeDetail } from './timeline';
import { parseFrame, streamUrl } from './stream';
import { callsUrl } from './api';

describe('timeline', () => {
  it('interleaves call events with transcript lines by time', () => {
    const items = buildTimeline({
      call_id: 'c',
      started_at: 100,
      transcript: [
        { role: 'user', text: 'book a table', turnIndex: 0 },
        { role: 'assistant', text: 'done', turnIndex: 0 },
        { role: 'user', text: 'thanks', turnIndex: 1 },
      ],
      turns: [
        { turn_index: 0, timestamp: 101 },
        { turn_index: 1, timestamp: 110 },
      ],
      events: [{ kind: 'tool_call', name: 'book', detail: { size: 2 }, ts: 105 }],
    });
    expect(items.map((i) => (i.kind === 'line' ? i.line.text : `[${i.event.name}]`))).toEqual([
      'book a table',
      'done',
      '[book]',
      'thanks',
    ]);
  });

  it('keeps transcript order when lines have no time at all', () => {
    const items = buildTimeline({
      call_id: 'c',
      transcript: [
        { role: 'user', text: '1' },
        { role: 'assistant', text: '2' },
      ],
      events: [{ kind: 'error', ts: null }],
    });
    expect(items.map((i) => i.kind)).toEqual(['line', 'line', 'event']);
  });

  it('summarises details', () => {
    expect(describeDetail({ a: 1 })).toBe('{"a":1}');
    expect(describeDetail({})).toBe('');
    expect(describeDetail('x')).toBe('x');
  });
});

describe('wire helpers', () => {
  it('builds the stream URL with a resume point', () => {
    expect(streamUrl(null)).toBe('/api/dashboard/events');
    expect(streamUrl(41)).toBe('/api/dashboard/events?last_event_id=41');
  });

  it('parses frames, taking seq from data or the event id', () => {
    expect(parseFrame('call_start', '{"call_id":"a","seq":7}', '7')?.seq).toBe(7);
    expect(parseFrame('call_start', '{"call_id":"a"}', '9')?.seq).toBe(9);
    expect(parseFrame('call_start', 'not json', '9')).toBeNull();
    expect(parseFrame('call_start', '[1]', '9')).toBeNull();
  });

  it('builds the summary calls URL with only the filters set', () => {
    expect(callsUrl({ limit: 50, offset: 100, status: '', direction: 'inbound', q: ' +1555 ', from: '', to: '' })).toBe(
      '/api/dashboard/history/calls?limit=50&offset=100&view=summary&direction=inbound&q=%2B1555',
    );
  });
});
