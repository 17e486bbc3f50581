/** First-run help: three ways to get a call onto the dashboard. */
export function EmptyState({ origin }: { origin: string }) {
  const curl = `curl -X POST ${origin}/api/events \\
  -H 'Authorization: Bearer <token>' \\
  -H 'Content-Type: application/json' \\
  -d '[
    {"type": "call_start", "call_id": "hello-1",
     "data": {"caller": "+15550100", "callee": "+15550199"}},
    {"type": "transcript_line", "call_id": "hello-1",
     "data": {"turnIndex": 0, "role": "user", "text": "Hi there"}},
    {"type": "call_end", "call_id": "hello-1",
     "data": {"metrics": {"duration_seconds": 12}}}
  ]'`;
  return (
    <section className="empty" aria-labelledby="empty-title">
      <h2 id="empty-title">No calls yet</h2>
      <p>Calls appear here live as soon as an agent reports them. Three ways to see your first one:</p>
      <ol className="empty-steps">
        <li>
          <h3>From a Patter agent</h3>
          <p>
            Run patterdash on port 8000 — the port the Patter SDK&apos;s dashboard notifier posts to — and start
            your agent as usual. Every call, transcript line and turn shows up here.
          </p>
          <pre>
            <code>patterdash serve --port 8000 --token &lt;token&gt;</code>
          </pre>
        </li>
        <li>
          <h3>Watch a demo</h3>
          <p>Stream realistic synthetic calls into a live dashboard:</p>
          <pre>
            <code>patterdash serve --demo</code>
          </pre>
        </li>
        <li>
          <h3>Send one by hand</h3>
          <p>
            Post events to <code>/api/events</code> (one object, an array, or NDJSON):
          </p>
          <pre>
            <code data-testid="curl-example">{curl}</code>
          </pre>
        </li>
      </ol>
    </section>
  );
}
