// Generated from schemas/envelope.json by scripts/gen_ui_event_types.py: do not edit.
// Regenerate with `just schemas`; tests/test_ui_event_types.py fails when this is stale.

/** Every event type the server logs and streams (SSE `event:` names), in schema order. */
export const EVENT_TYPES = [
  'call_initiated',
  'call_start',
  'call_status',
  'transcript_line',
  'turn_complete',
  'call_end',
  'call_event',
  'calls_deleted',
  'alert_fired',
  'alert_resolved',
  'recording_stored',
  'calls_purged',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
