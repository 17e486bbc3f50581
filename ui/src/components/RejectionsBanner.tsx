import { useState } from 'react';
import { rejectionsText } from '../format';
import type { IngestRejections } from '../types';

const KEY = 'patterdash.rejections.dismissed';

/** The count the operator dismissed at (this tab's session), or 0. */
function dismissedAt(): number {
  try {
    const n = Number(window.sessionStorage.getItem(KEY));
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0; // storage disabled: the banner simply comes back on reload
  }
}

/** Admins see refused ingest requests (calls that never arrived); dismissed until the count grows. */
export function RejectionsBanner({ rejections }: { rejections: IngestRejections }) {
  const [dismissed, setDismissed] = useState(dismissedAt);
  if (rejections.total <= dismissed) return null;
  const dismiss = () => {
    setDismissed(rejections.total);
    try {
      window.sessionStorage.setItem(KEY, String(rejections.total));
    } catch {
      // storage disabled: dismissed for this page only
    }
  };
  return (
    <div className="warn-banner" role="alert" data-testid="rejections-banner">
      <span>{rejectionsText(rejections)}</span>
      <button type="button" className="btn btn-ghost" onClick={dismiss} aria-label="Dismiss ingest refusals notice">
        ✕
      </button>
    </div>
  );
}
