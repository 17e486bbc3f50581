/** Interleaves a call's transcript with its call_events into one ordered timeline. */
import type { CallEventEntry, CallRecord, TranscriptLine } from './types';
import { recordTurns, toEpochSeconds } from './format';

export type TimelineItem =
  | { kind: 'line'; ts: number | null; line: TranscriptLine }
  | { kind: 'event'; ts: number | null; event: CallEventEntry };

/**
 * Lines without a timestamp borrow their turn's timestamp, else the previous
 * item's, so they keep transcript order; the merge is stable on time.
 */
export function buildTimeline(r: CallRecord): TimelineItem[] {
  const turnTs = new Map<number, number>();
  for (const t of recordTurns(r)) {
    const ts = toEpochSeconds(t.timestamp);
    if (ts !== null) turnTs.set(t.turn_index, ts);
  }
  const lines: TimelineItem[] = [];
  let prev: number | null = r.started_at ?? null;
  for (const line of r.transcript ?? []) {
    let ts = toEpochSeconds(line.timestamp);
    if (ts === null && typeof line.turnIndex === 'number') ts = turnTs.get(line.turnIndex) ?? null;
    if (ts === null || (prev !== null && ts < prev)) ts = ts ?? prev;
    lines.push({ kind: 'line', ts, line });
    if (ts !== null) prev = Math.max(prev ?? ts, ts);
  }
  const events: TimelineItem[] = (r.events ?? []).map((event) => ({ kind: 'event', ts: toEpochSeconds(event.ts), event }));
  if (events.length === 0) return lines;
  // Stable merge: a line goes first when times tie, events without a time go last.
  const out: TimelineItem[] = [];
  let i = 0;
  let j = 0;
  const sortedEvents = events
    .map((e, k) => ({ e, k }))
    .sort((a, b) => (a.e.ts ?? Infinity) - (b.e.ts ?? Infinity) || a.k - b.k)
    .map((x) => x.e);
  while (i < lines.length || j < sortedEvents.length) {
    const l = lines[i];
    const e = sortedEvents[j];
    if (l && (!e || e.ts === null || (l.ts ?? -Infinity) <= e.ts)) {
      out.push(l);
      i++;
    } else if (e) {
      out.push(e);
      j++;
    }
  }
  return out;
}

/** A one-line summary of a call_event's detail object. */
export function describeDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  try {
    const s = JSON.stringify(detail);
    return s === '{}' ? '' : s.length > 240 ? `${s.slice(0, 239)}…` : s;
  } catch {
    return '';
  }
}
