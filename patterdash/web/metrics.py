"""GET /metrics: Prometheus text exposition."""

from __future__ import annotations

from aiohttp import web

from patterdash.web import otlp
from patterdash.web.keys import CONNECTION_COUNTS, SERVICE
from patterdash.web.rejections import REJECTIONS

__all__ = ["metrics"]


async def metrics(request: web.Request) -> web.Response:
    """Events appended, ingest latency and refusals, SSE subscribers, active calls, log position."""
    service = request.app[SERVICE]
    stats = service.stats
    lines = [
        "# HELP patterdash_events_appended_total Events appended to the log (all processes).",
        "# TYPE patterdash_events_appended_total counter",
        f"patterdash_events_appended_total {stats.events_appended}",
        "# HELP patterdash_duplicate_events_total Re-sent events answered without appending.",
        "# TYPE patterdash_duplicate_events_total counter",
        f"patterdash_duplicate_events_total {stats.duplicates}",
        "# HELP patterdash_event_id_conflicts_total Re-sent ids whose content differed (first content kept).",
        "# TYPE patterdash_event_id_conflicts_total counter",
        f"patterdash_event_id_conflicts_total {stats.id_conflicts}",
        "# HELP patterdash_commits_total Group-commit transactions.",
        "# TYPE patterdash_commits_total counter",
        f"patterdash_commits_total {stats.commits}",
        "# HELP patterdash_append_errors_total Failed append transactions.",
        "# TYPE patterdash_append_errors_total counter",
        f"patterdash_append_errors_total {stats.append_errors}",
        "# HELP patterdash_store_errors_total Failed store calls (appends and tails): unreachable, full, damaged.",
        "# TYPE patterdash_store_errors_total counter",
        f"patterdash_store_errors_total {stats.store_errors}",
        "# HELP patterdash_tail_lag_events Events of the log not yet projected here (head seq - last seq).",
        "# TYPE patterdash_tail_lag_events gauge",
        f"patterdash_tail_lag_events {max(0, stats.head_seq - service.projection.last_seq)}",
        "# HELP patterdash_ingest_latency_seconds Ingest request latency until acknowledged.",
        "# TYPE patterdash_ingest_latency_seconds histogram",
    ]
    for bound, count in stats.ingest_buckets.items():
        lines.append(f'patterdash_ingest_latency_seconds_bucket{{le="{bound}"}} {count}')
    lines += [
        f'patterdash_ingest_latency_seconds_bucket{{le="+Inf"}} {stats.ingest_count}',
        f"patterdash_ingest_latency_seconds_sum {stats.ingest_seconds_sum:.6f}",
        f"patterdash_ingest_latency_seconds_count {stats.ingest_count}",
        "# HELP patterdash_sse_subscribers Open SSE streams.",
        "# TYPE patterdash_sse_subscribers gauge",
        f"patterdash_sse_subscribers {service.bus.subscribers}",
        "# HELP patterdash_active_calls Calls in progress.",
        "# TYPE patterdash_active_calls gauge",
        f"patterdash_active_calls {len(service.projection.active)}",
        "# HELP patterdash_calls_refused_total New calls refused (429) because max_active_calls were in progress.",
        "# TYPE patterdash_calls_refused_total counter",
        f"patterdash_calls_refused_total {stats.calls_refused}",
        "# HELP patterdash_ring_calls Completed calls held in memory.",
        "# TYPE patterdash_ring_calls gauge",
        f"patterdash_ring_calls {len(service.projection.ring)}",
        "# HELP patterdash_log_seq Last seq in the event log.",
        "# TYPE patterdash_log_seq gauge",
        f"patterdash_log_seq {service.projection.last_seq}",
        *otlp.metric_lines(request.app),
        "# HELP patterdash_ingest_rejected_total Ingest requests refused (4xx), by reason.",
        "# TYPE patterdash_ingest_rejected_total counter",
    ]
    for reason, count in sorted(request.app[REJECTIONS].totals.items()):
        lines.append(f'patterdash_ingest_rejected_total{{reason="{reason}"}} {count}')
    lines += _connection_lines(request)
    return web.Response(
        text="\n".join(lines) + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def _connection_lines(request: web.Request) -> list[str]:
    """Open connections and the ones shed or timed out (only under ``patterdash serve``)."""
    counts = request.app.get(CONNECTION_COUNTS)
    if counts is None:
        return []
    now = counts()
    return [
        "# HELP patterdash_connections_open Open client connections.",
        "# TYPE patterdash_connections_open gauge",
        f"patterdash_connections_open {now['open']}",
        "# HELP patterdash_connections_shed_total Connections closed to stay under the connection cap.",
        "# TYPE patterdash_connections_shed_total counter",
        f"patterdash_connections_shed_total {now['shed']}",
        "# HELP patterdash_connections_timed_out_total Connections closed for sending a request head too slowly.",
        "# TYPE patterdash_connections_timed_out_total counter",
        f"patterdash_connections_timed_out_total {now['timed_out']}",
    ]
