/** The one EventSource on /api/dashboard/events, with resume after a closed stream. */
import { EVENT_TYPES } from './eventTypes.gen';
import type { StreamEvent } from './types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamHandlers {
  onEvent(ev: StreamEvent): void;
  onState(state: ConnectionState): void;
  /** Called on every open; `resumed` is true when the server replays from our last seq. */
  onOpen(resumed: boolean): void;
  /** The browser gave up (non-200 answer): decide whether to retry. */
  probe(): Promise<'retry' | 'unauthorized'>;
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** Builds the stream URL; after a closed stream we resume from the last seq seen. */
export function streamUrl(lastSeq: number | null): string {
  return lastSeq === null ? '/api/dashboard/events' : `/api/dashboard/events?last_event_id=${lastSeq}`;
}

/** Parses one SSE message into a StreamEvent, or null when malformed. */
export function parseFrame(type: string, raw: string, lastEventId: string): StreamEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
  const obj = data as Record<string, unknown>;
  const seqFromData = typeof obj.seq === 'number' ? obj.seq : NaN;
  const seq = Number.isFinite(seqFromData) ? seqFromData : Number(lastEventId);
  return { type, seq: Number.isFinite(seq) ? seq : NaN, data: obj };
}

export class LiveStream {
  private es: EventSource | null = null;
  private lastSeq: number | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly handlers: StreamHandlers) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.es?.close();
    this.es = null;
    this.handlers.onState('stopped');
  }

  private open(): void {
    if (this.stopped) return;
    const resumed = this.lastSeq !== null;
    const es = new EventSource(streamUrl(this.lastSeq));
    this.es = es;
    this.handlers.onState(this.attempt === 0 && !resumed ? 'connecting' : 'reconnecting');
    es.onopen = () => {
      this.attempt = 0;
      this.handlers.onState('live');
      // After an automatic reconnect the browser sends Last-Event-ID itself.
      this.handlers.onOpen(this.lastSeq !== null);
    };
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        this.es = null;
        this.handlers.onState('reconnecting');
        void this.reopenLater();
      } else {
        this.handlers.onState('reconnecting');
      }
    };
    const listener = (e: MessageEvent<string>) => this.receive(e);
    for (const t of EVENT_TYPES) es.addEventListener(t, listener as EventListener);
    es.onmessage = listener;
  }

  private receive(e: MessageEvent<string>): void {
    const ev = parseFrame(e.type, e.data, e.lastEventId);
    if (!ev) return;
    if (Number.isFinite(ev.seq)) {
      // A replay may overlap what we already applied: skip what we have seen.
      if (this.lastSeq !== null && ev.seq <= this.lastSeq) return;
      this.lastSeq = ev.seq;
    }
    this.handlers.onEvent(ev);
  }

  private async reopenLater(): Promise<void> {
    if (this.stopped) return;
    let verdict: 'retry' | 'unauthorized' = 'retry';
    try {
      verdict = await this.handlers.probe();
    } catch {
      verdict = 'retry';
    }
    if (verdict === 'unauthorized') {
      this.stop();
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 15000;
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }
}
