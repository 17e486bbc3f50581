import type { CostBreakdown as Cost } from '../types';
import { COST_KEYS, costTotal, formatCost } from '../format';

const LABELS: Record<(typeof COST_KEYS)[number], string> = {
  stt: 'STT',
  llm: 'LLM',
  tts: 'TTS',
  telephony: 'Telephony',
};

interface Props {
  cost: Cost | null | undefined;
  label: string;
}

/** Cost per component with a proportional bar, then the total. */
export function CostBreakdown({ cost, label }: Props) {
  if (!cost) {
    return (
      <p className="muted small" aria-label={label}>
        Cost: {formatCost(null)}
      </p>
    );
  }
  const total = costTotal(cost);
  const denom = total && total > 0 ? total : 1;
  const savings = cost.llm_cached_savings;
  return (
    <table className="costs" aria-label={label}>
      <tbody>
        {COST_KEYS.map((k) => {
          const v = cost[k];
          const pct = typeof v === 'number' && v > 0 ? Math.min(100, (v / denom) * 100) : 0;
          return (
            <tr key={k} className={`cost-${k}`}>
              <th scope="row">{LABELS[k]}</th>
              <td className="cost-track" aria-hidden="true">
                <span className="cost-bar" style={{ width: `${pct}%` }} />
              </td>
              <td className="num">{formatCost(v)}</td>
            </tr>
          );
        })}
        <tr className="cost-total">
          <th scope="row">Total</th>
          <td />
          <td className="num">{formatCost(total)}</td>
        </tr>
        {typeof savings === 'number' && savings > 0 && (
          <tr className="cost-savings">
            <th scope="row">Cache savings</th>
            <td />
            <td className="num">{formatCost(savings)}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
