import { RANGES, type TimeRange } from '../range';

/** The page's one time range: presets, or custom days (either end may stay open). */
export function RangeControl({ range, onRange }: { range: TimeRange; onRange: (r: TimeRange) => void }) {
  const custom = range.key === 'custom';
  return (
    <div className="range" role="group" aria-label="Time range">
      {RANGES.map((r) => (
        <button
          key={r.key}
          type="button"
          className={`btn${r.key === range.key ? ' on' : ''}`}
          aria-pressed={r.key === range.key}
          onClick={() => onRange({ key: r.key, from: '', to: '' })}
        >
          {r.label}
        </button>
      ))}
      <button
        type="button"
        className={`btn${custom ? ' on' : ''}`}
        aria-pressed={custom}
        onClick={() => onRange({ key: 'custom', from: range.from, to: range.to })}
      >
        Custom
      </button>
      {custom ? (
        <span className="range-custom">
          <label className="field">
            <span>From</span>
            <input
              type="date"
              value={range.from}
              max={range.to || undefined}
              onChange={(e) => onRange({ ...range, from: e.target.value })}
            />
          </label>
          <label className="field">
            <span>To</span>
            <input type="date" value={range.to} min={range.from || undefined} onChange={(e) => onRange({ ...range, to: e.target.value })} />
          </label>
        </span>
      ) : null}
    </div>
  );
}
