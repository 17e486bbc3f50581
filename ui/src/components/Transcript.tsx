import type { TranscriptLine } from '../types';
import { Masked } from './Phone';

export function speakerLabel(role: string): string {
  if (role === 'user') return 'User';
  if (role === 'assistant') return 'Agent';
  return role;
}

interface LineProps {
  line: TranscriptLine;
  time?: string;
  /** Seconds into the call's recording this line was said at, when both are known. */
  seekTo?: number | null;
  onSeek?: (seconds: number) => void;
}

/** One transcript line; text is rendered as text, never as HTML. */
export function Line({ line, time, seekTo, onSeek }: LineProps) {
  const role = line.role === 'user' || line.role === 'assistant' ? line.role : 'other';
  const canSeek = typeof seekTo === 'number' && onSeek !== undefined;
  return (
    // The whole line seeks on click; the time is the keyboard's way in (its click bubbles here).
    <li className={`line line-${role}${canSeek ? ' line-seekable' : ''}`} onClick={canSeek ? () => onSeek(seekTo) : undefined}>
      <span className="speaker">{speakerLabel(line.role)}</span>
      {canSeek ? (
        <button type="button" className="line-time line-seek num" title="Play the recording from here">
          {time ?? '▶'}
        </button>
      ) : time ? (
        <span className="line-time num">{time}</span>
      ) : null}
      <span className="line-text">
        <Masked text={line.text} />
      </span>
    </li>
  );
}
