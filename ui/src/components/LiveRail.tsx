import { useEffect, useRef, type RefObject } from 'react';
import type { CallRecord } from '../types';
import { formatDuration, formatMs, headlineLatency, plural } from '../format';
import { CostBreakdown } from './CostBreakdown';
import { DirectionTag, StatusBadge } from './Badges';
import { Line } from './Transcript';
import { Waterfall } from './Waterfall';
import { Masked, Phone } from './Phone';

interface Props {
  calls: CallRecord[];
  nowSeconds: number;
  onOpen: (id: string) => void;
}

/** From this many live calls the cards shrink to one header and one line each (the list scrolls). */
export const COMPACT_FROM = 5;

/** Right rail: every active call, updated from the event stream. */
export function LiveRail({ calls, nowSeconds, onOpen }: Props) {
  const compact = calls.length >= COMPACT_FROM;
  return (
    <aside className="rail" aria-labelledby="rail-title">
      <h2 id="rail-title">
        Live calls <span className="count num">{calls.length}</span>
      </h2>
      {calls.length === 0 ? (
        <p className="rail-empty muted">No active calls. New calls appear here the moment they start.</p>
      ) : (
        <ul className={`live-list${compact ? ' compact' : ''}`} aria-label="Live calls">
          {calls.map((c) => (
            <LiveCallCard key={c.call_id} call={c} nowSeconds={nowSeconds} onOpen={onOpen} compact={compact} />
          ))}
        </ul>
      )}
    </aside>
  );
}

interface CardProps {
  call: CallRecord;
  nowSeconds: number;
  onOpen: (id: string) => void;
  compact: boolean;
}

function LiveCallCard({ call, nowSeconds, onOpen, compact }: CardProps) {
  const transcript = call.transcript ?? [];
  const turns = call.turns ?? [];
  const last = turns.length > 0 ? turns[turns.length - 1] : undefined;
  const scroller = useRef<HTMLOListElement>(null);
  const elapsed = typeof call.started_at === 'number' ? Math.max(0, nowSeconds - call.started_at) : null;

  useEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [transcript.length]);

  const titleId = `live-${call.call_id}`;
  return (
    <li className="live-card" data-call-id={call.call_id} aria-labelledby={titleId}>
      <header className="live-head">
        <button type="button" className="live-title" id={titleId} onClick={() => onOpen(call.call_id)}>
          <span className="pulse" aria-hidden="true" />
          <Phone value={call.caller} />
          <span className="arrow" aria-label="to">
            →
          </span>
          <Phone value={call.callee} />
        </button>
        <span className="live-timer num" aria-label="Duration" data-testid="live-duration">
          {formatDuration(elapsed)}
        </span>
      </header>
      <div className="live-meta">
        <DirectionTag direction={call.direction} />
        <StatusBadge status={call.status} />
        <span className="muted small num">{plural(turns.length, 'turn')}</span>
        {compact && last ? <span className="muted small num">{formatMs(headlineLatency(last.latency))}</span> : null}
      </div>
      {compact ? <LastLine text={transcript[transcript.length - 1]?.text} /> : <LiveDetails call={call} scroller={scroller} />}
    </li>
  );
}

/** A compact card's one line: the latest thing said. */
function LastLine({ text }: { text: string | undefined }) {
  return <p className="live-last small">{text !== undefined ? <Masked text={text} /> : <span className="muted">Waiting for speech…</span>}</p>;
}

/** A full card's transcript, latency waterfall and running cost. */
function LiveDetails({ call, scroller }: { call: CallRecord; scroller: RefObject<HTMLOListElement> }) {
  const transcript = call.transcript ?? [];
  const turns = call.turns ?? [];
  const last = turns.length > 0 ? turns[turns.length - 1] : undefined;
  return (
    <>
      <ol className="live-transcript" ref={scroller} aria-label="Live transcript" aria-live="polite">
        {transcript.length === 0 ? <li className="muted small">Waiting for speech…</li> : null}
        {transcript.map((l, i) => (
          <Line key={`${l.turnIndex ?? 'x'}-${l.role}-${i}`} line={l} />
        ))}
      </ol>
      {last ? (
        <div className="live-section">
          <h3>
            Latency <span className="muted">turn {last.turn_index}</span>
          </h3>
          <Waterfall latency={last.latency} label={`Latency of turn ${last.turn_index}`} />
          {turns.length > 1 ? (
            <ol className="turn-strip" aria-label="Total latency per turn">
              {turns.slice(-8).map((t) => (
                <li key={t.turn_index} className="num">
                  <span className="muted">T{t.turn_index}</span> {formatMs(headlineLatency(t.latency))}
                </li>
              ))}
            </ol>
          ) : null}
        </div>
      ) : null}
      {call.running_cost ? (
        <div className="live-section">
          <h3>Running cost</h3>
          <CostBreakdown cost={call.running_cost} label="Running cost" />
        </div>
      ) : (
        <p className="live-pending muted small">
          {last ? 'Running cost: —' : 'No completed turn yet · running cost —'}
        </p>
      )}
    </>
  );
}
