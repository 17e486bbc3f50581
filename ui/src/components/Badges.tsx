import { TERMINAL_STATUSES } from '../types';

function tone(status: string): string {
  if (status === 'completed') return 'ok';
  if (['failed', 'webhook_error', 'lost', 'timeout'].includes(status)) return 'bad';
  if (TERMINAL_STATUSES.has(status)) return 'warn';
  return 'live';
}

export function StatusBadge({ status, error }: { status: string | null | undefined; error?: string | null | undefined }) {
  const s = status || 'unknown';
  // Agents often report the terminal status again as the error code: say it once.
  const err = error && error !== s ? error : null;
  return (
    <span className={`badge badge-${tone(s)}`} title={err ? `error ${err}` : undefined}>
      {s}
      {err ? <span className="badge-err"> · {err}</span> : null}
    </span>
  );
}

export function DirectionTag({ direction }: { direction: string | null | undefined }) {
  if (direction === 'inbound') return <span className="dir" title="inbound">← in</span>;
  if (direction === 'outbound') return <span className="dir" title="outbound">→ out</span>;
  return <span className="dir muted">{direction || '—'}</span>;
}
