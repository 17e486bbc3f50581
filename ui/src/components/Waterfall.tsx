import type { LatencyBreakdown } from '../types';
import { formatMs, waterfallScale, waterfallSteps } from '../format';

interface Props {
  latency: LatencyBreakdown | null | undefined;
  /** Accessible name, e.g. "Latency, turn 3". */
  label: string;
  /** Shared scale in ms so several waterfalls compare at a glance. */
  scaleMs?: number;
}

/** STT → LLM first token → TTS first byte as stacked bars, with the total below. */
export function Waterfall({ latency, label, scaleMs }: Props) {
  const steps = waterfallSteps(latency);
  const scale = Math.max(scaleMs ?? 0, waterfallScale(steps)) || 1;
  return (
    <table className="waterfall" aria-label={label}>
      <tbody>
        {steps.map((s) => {
          const left = (s.startMs / scale) * 100;
          const width = s.ms === null ? 0 : Math.max(0.5, (s.ms / scale) * 100);
          return (
            <tr key={s.key} className={`wf-${s.key}`}>
              <th scope="row">{s.label}</th>
              <td className="wf-track" aria-hidden="true">
                {s.ms !== null && <span className="wf-bar" style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />}
              </td>
              <td className="num">{formatMs(s.ms)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
