/** Wire shapes of the patterdash HTTP + SSE API (Patter SDK field names). */

export interface LatencyBreakdown {
  stt_ms: number | null;
  llm_ms: number | null;
  tts_ms: number | null;
  total_ms: number | null;
  user_speech_duration_ms?: number | null;
  llm_ttft_ms?: number | null;
  llm_total_ms?: number | null;
  endpoint_ms?: number | null;
  bargein_ms?: number | null;
  tts_total_ms?: number | null;
  agent_response_ms?: number | null;
}

export interface TurnMetrics {
  turn_index: number;
  user_text?: string | null;
  agent_text?: string | null;
  latency?: LatencyBreakdown | null;
  stt_audio_seconds?: number | null;
  tts_characters?: number | null;
  timestamp?: number | string | null;
  /** Per-turn cost extra some agents send; the server sums it into running_cost. */
  cost?: CostBreakdown | null;
}

export interface CostBreakdown {
  stt?: number | null;
  tts?: number | null;
  llm?: number | null;
  telephony?: number | null;
  total?: number | null;
  llm_cached_savings?: number | null;
}

export interface CallMetrics {
  call_id?: string;
  duration_seconds?: number | null;
  turns?: TurnMetrics[];
  cost?: CostBreakdown | null;
  latency_avg?: LatencyBreakdown | null;
  latency_p50?: LatencyBreakdown | null;
  latency_p90?: LatencyBreakdown | null;
  latency_p95?: LatencyBreakdown | null;
  latency_p99?: LatencyBreakdown | null;
  provider_mode?: string | null;
  stt_provider?: string | null;
  tts_provider?: string | null;
  llm_provider?: string | null;
  telephony_provider?: string | null;
  stt_model?: string | null;
  tts_model?: string | null;
  llm_model?: string | null;
  error_code?: string | null;
  preemptive_hits?: number | null;
  preemptive_misses?: number | null;
  context_tokens?: number | null;
}

export type Role = 'user' | 'assistant';

export interface TranscriptLine {
  role: Role | string;
  text: string;
  timestamp?: number | string | null;
  turnIndex?: number | null;
}

export interface CallEventEntry {
  kind: string;
  name?: string | null;
  detail?: unknown;
  ts?: number | null;
}

export interface CallRecord {
  call_id: string;
  caller?: string | null;
  callee?: string | null;
  direction?: string | null;
  status?: string | null;
  started_at?: number | null;
  ended_at?: number | null;
  metrics?: CallMetrics | null;
  transcript?: TranscriptLine[];
  turns?: TurnMetrics[];
  events?: CallEventEntry[];
  turn_count?: number | null;
  running_cost?: CostBreakdown | null;
  /** Free extras of a call_status (e.g. why a call failed, the carrier's SIP code). */
  reason?: unknown;
  sip_code?: unknown;
  /** The call's stored audio (issue 13), when one exists. */
  recording?: Recording | null;
}

export interface Recording {
  url: string;
  content_type?: string | null;
  bytes?: number | null;
  /** Epoch seconds (or ISO text) the audio's first sample corresponds to, when known. */
  started_at?: number | string | null;
}

export interface Aggregates {
  total_calls: number;
  total_cost: number;
  avg_duration: number;
  avg_latency_ms: number;
  cost_breakdown?: CostBreakdown;
  active_calls: number;
  latency_percentiles?: { p50: number | null; p95: number | null; p99: number | null; n: number };
  /** How the ring's ended calls ended (absent on servers before issue 11). */
  outcomes?: Outcomes;
}

export interface Outcomes {
  completed: number;
  failed: number;
  no_answer: number;
  lost: number;
}

export type Right = 'read' | 'ingest' | 'admin';

/** GET /api/me: what this session may do. */
export interface Me {
  open: boolean;
  scope: Right | null;
  rights: Right[];
}

/** GET /api/dashboard/ingest/rejections (admin only). */
export interface IngestRejections {
  window_seconds: number;
  total: number;
  by_reason: Record<string, number>;
}

/** One SSE frame after JSON parsing: the event type plus its data object. */
export interface StreamEvent {
  type: string;
  seq: number;
  data: Record<string, unknown>;
}

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'no-answer',
  'busy',
  'failed',
  'canceled',
  'timeout',
  'cancel',
  'webhook_error',
  'lost',
]);
