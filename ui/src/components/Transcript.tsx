import type { TranscriptLine } from '../types';

export function speakerLabel(role: string): string {
  if (role === 'user') return 'User';
  if (role === 'assistant') return 'Agent';
  return role;
}

interface LineProps {
  line: TranscriptLine;
  time?: string;
}

/** One transcript line; text is rendered as text, never as HTML. */
export function Line({ line, time }: LineProps) {
  const role = line.role === 'user' || line.role === 'assistant' ? line.role : 'other';
  return (
    <li className={`line line-${role}`}>
      <span className="speaker">{speakerLabel(line.role)}</span>
      {time ? <span className="line-time num">{time}</span> : null}
      <span className="line-text">{line.text}</span>
    </li>
  );
}
