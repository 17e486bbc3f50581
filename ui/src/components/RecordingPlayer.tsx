import type { RefObject } from 'react';
import type { Recording } from '../types';

/** The call's stored audio; the session cookie authenticates the request, Range lets it seek. */
export function RecordingPlayer({ rec, audio }: { rec: Recording; audio: RefObject<HTMLAudioElement> }) {
  return (
    <section className="detail-section" aria-labelledby="rec-title">
      <h3 id="rec-title">Recording</h3>
      <audio ref={audio} className="recording" controls preload="metadata" src={rec.url} data-testid="recording-player">
        <a href={rec.url}>Download the recording</a>
      </audio>
      <p className="muted small">
        {rec.content_type || 'audio'}
        {typeof rec.bytes === 'number' ? ` · ${formatBytes(rec.bytes)}` : ''}
        {rec.started_at != null ? ' · click a transcript line to play from there' : ''}
      </p>
    </section>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
