import { DASH } from '../format';
import { maskPhone, setRevealed, useMaskedText, useRevealed } from '../privacy';

/** A phone number, masked unless the session chose to reveal numbers. */
export function Phone({ value, className = 'num phone' }: { value: string | null | undefined; className?: string }) {
  const revealed = useRevealed();
  if (!value) return <span className={className}>{DASH}</span>;
  return <span className={className}>{revealed ? value : maskPhone(value)}</span>;
}

/** Free text (what was said, a tool call, a reason) with the numbers in it masked unless revealed. */
export function Masked({ text }: { text: string }) {
  return <>{useMaskedText(text)}</>;
}

/** Show or hide full phone numbers for this browser session (in the top bar, and in the call detail that covers it). */
export function RevealToggle({ testId = 'reveal-numbers' }: { testId?: string }) {
  const revealed = useRevealed();
  return (
    <button
      type="button"
      className="btn"
      aria-pressed={revealed}
      data-testid={testId}
      onClick={() => setRevealed(!revealed)}
      title="Phone numbers are masked by default; the choice lasts for this browser session"
    >
      {revealed ? 'Hide numbers' : 'Show numbers'}
    </button>
  );
}
