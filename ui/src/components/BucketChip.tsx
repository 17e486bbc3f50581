import { bucketText, type Bucket } from '../range';

/** The chart bucket the table (and exports) are narrowed to; its button removes it. */
export function BucketChip({ bucket, onClear }: { bucket: Bucket; onClear: () => void }) {
  const text = bucketText(bucket);
  return (
    <div className="bucket-chip" data-testid="bucket-chip">
      <span className="muted small">Only calls started</span>
      <button type="button" className="chip" onClick={onClear} aria-label={`Remove the bucket filter ${text}`} title="Show the whole range again">
        <span className="num">{text}</span>
        <span aria-hidden="true"> ×</span>
      </button>
    </div>
  );
}
