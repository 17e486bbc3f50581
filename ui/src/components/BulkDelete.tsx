import { useState } from 'react';
import { deleteCalls } from '../api';
import { plural } from '../format';

/** Admin bar over the table: how many rows are ticked, and a two-step Delete for them. */
export function BulkDelete({ ids, onClear }: { ids: string[]; onClear: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (ids.length === 0) return null;

  const remove = () => {
    setBusy(true);
    setError(null);
    deleteCalls(ids)
      .then(() => {
        setConfirming(false);
        onClear(); // the calls_deleted event refreshes the table
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };

  return (
    <div className="bulk-bar" role="region" aria-label="Selected calls">
      <span className="num">{plural(ids.length, 'call')} selected</span>
      {confirming ? (
        <button type="button" className="btn btn-danger" disabled={busy} onClick={remove}>
          Confirm delete {ids.length}
        </button>
      ) : (
        <button type="button" className="btn btn-danger-outline" onClick={() => setConfirming(true)}>
          Delete selected
        </button>
      )}
      <button type="button" className="btn btn-ghost" onClick={() => { setConfirming(false); onClear(); }}>
        Clear
      </button>
      {error ? <span className="bulk-error" role="alert">{error}</span> : null}
    </div>
  );
}
