"""Generate ``schemas/`` (JSON Schemas and openapi.json) from the pydantic models.

Run ``python -m patterdash.schemas`` (or ``just schemas``); a test fails when the
committed files differ from what this produces.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from patterdash import __version__
from patterdash.core.events import EVENT_DATA_MODELS, Event, EventIn
from patterdash.web import api_models, history_models
from patterdash.web.alerts import AlertsResponse
from patterdash.web.table import ROUTES, Route

__all__ = ["generate", "render", "write"]

_RESPONSES: dict[str, type[BaseModel]] = {
    "call_record": api_models.CallRecord,
    "call_summary": api_models.CallSummary,
    "aggregates": api_models.Aggregates,
    "ingest_response": api_models.IngestResponse,
    "events_response": api_models.EventsResponse,
    "delete_response": api_models.DeleteResponse,
    "health": api_models.Health,
    "me": api_models.Me,
    "ingest_rejections": api_models.IngestRejections,
    "error": api_models.ErrorResponse,
    "alerts": AlertsResponse,
    "history": history_models.History,
}


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        401: "Missing or wrong token",
        403: "Token scope too narrow",
        404: "Not found",
        415: "Body is not JSON (or NDJSON for /api/events)",
        413: "Body too large",
        422: "Invalid event",
        503: "Log unavailable",
    }
    return {str(c): _json_body(_ref("ErrorResponse"), text[c]) for c in codes}


_WHEN = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _operations() -> dict[str, Any]:
    """What each route takes and answers, by path and method (which routes exist: ``web/table.py``)."""
    filters = [
        _query("status", {"type": "string"}, "Only calls with this status"),
        _query("direction", {"type": "string", "enum": ["inbound", "outbound"]}, "Only this direction"),
        _query("q", {"type": "string"}, "Substring over numbers, call id and transcript"),
        _query("from", _WHEN, "ISO date/time (date-only = UTC midnight), by started_at"),
        _query("to", _WHEN, "ISO date/time (date-only = UTC midnight), by started_at"),
    ]
    list_params = [
        _query(
            "limit",
            {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50},
            "Page size; as in Patter, clamped to [0, 1000] and 50 when not an integer",
        ),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Skip; below 0 or not an integer means 0"),
        *filters,
        _query("view", {"type": "string", "enum": ["full", "summary"], "default": "full"}, "Record shape"),
    ]
    total = {"X-Total-Count": {"schema": {"type": "integer"}, "description": "Matching calls"}}
    call_id = {"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ingest_errors = _errors(400, 401, 403, 413, 415, 422, 503)
    return {
        "/healthz": {
            "get": {
                "summary": "Liveness and log seq (no auth)",
                "security": [],
                "responses": {"200": _json_body(_ref("Health"), "Alive")},
            }
        },
        "/api/dashboard/calls": {
            "get": {
                "summary": "Completed calls in the ring, newest first",
                "parameters": list_params,
                "responses": {
                    "200": _json_body(
                        {"type": "array", "items": {"anyOf": [_ref("CallRecord"), _ref("CallSummary")]}},
                        "Calls (CallSummary rows with view=summary)",
                        total,
                    ),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/api/dashboard/calls/{call_id}": {
            "get": {
                "summary": "One call (ring, active, or folded from the log)",
                "parameters": [call_id],
                "responses": {"200": _json_body(_ref("CallRecord"), "The call"), **_errors(401, 403, 404)},
            },
            "delete": {
                "summary": "Soft-delete one call (admin)",
                "parameters": [call_id],
                "responses": {"200": _json_body(_ref("DeleteResponse"), "Deleted"), **_errors(401, 403)},
            },
        },
        "/api/dashboard/calls/delete": {
            "post": {
                "summary": "Soft-delete calls (admin)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DeleteRequest")}}},
                "responses": {
                    "200": _json_body(_ref("DeleteResponse"), "Deleted"),
                    **_errors(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/dashboard/active": {
            "get": {
                "summary": "Calls in progress",
                "responses": {
                    "200": _json_body({"type": "array", "items": _ref("CallRecord")}, "Active calls"),
                    **_errors(401, 403),
                },
            }
        },
        "/api/dashboard/aggregates": {
            "get": {
                "summary": "Aggregates over the ring",
                "responses": {"200": _json_body(_ref("Aggregates"), "Aggregates"), **_errors(401, 403)},
            }
        },
        "/api/dashboard/events": {
            "get": {
                "summary": "Server-Sent Events; resume with Last-Event-ID (header) or last_event_id",
                "parameters": [_query("last_event_id", {"type": "integer", "minimum": 0}, "Resume after this seq")],
                "responses": {
                    "200": {
                        "description": "text/event-stream of `id: seq`, `event: type`, `data: json`",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403),
                },
            }
        },
        "/api/dashboard/export/calls": {
            "get": {
                "summary": "Download calls as CSV, JSON or NDJSON, with the calls list's filters",
                "parameters": [
                    _query(
                        "format", {"type": "string", "enum": ["csv", "json", "ndjson"], "default": "json"}, "Format"
                    ),
                    _query(
                        "scope", {"type": "string", "enum": ["ring", "all"], "default": "ring"}, "Ring or whole log"
                    ),
                    _query("per", {"type": "string", "enum": ["call", "turn"], "default": "call"}, "Row per call/turn"),
                    *filters,
                ],
                "responses": {
                    "200": {
                        "description": "Attachment",
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/json": {"schema": {"type": "array"}},
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403),
                },
            }
        },
        **_history_operations(filters, list_params, total),
        "/api/dashboard/ingest": {
            "post": {
                "summary": "The Patter SDK's notify payload, unchanged (ingest scope)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PatterIngestPayload")}},
                },
                "responses": {"200": _json_body(_ref("IngestResponse"), "Appended"), **ingest_errors},
            }
        },
        "/api/events": {
            "post": {
                "summary": "One event, an array, or NDJSON; appended atomically (ingest scope)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [_ref("EventIn"), {"type": "array", "items": _ref("EventIn"), "minItems": 1}]
                            }
                        },
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
                "responses": {"200": _json_body(_ref("EventsResponse"), "Appended"), **ingest_errors},
            }
        },
        "/api/me": {
            "get": {
                "summary": "This session's scope and rights (any valid token; everything on an open server)",
                "responses": {"200": _json_body(_ref("Me"), "Who this session is"), **_errors(401)},
            }
        },
        "/api/dashboard/ingest/rejections": {
            "get": {
                "summary": "Ingest requests refused in the last hour, by reason (admin)",
                "responses": {
                    "200": _json_body(_ref("IngestRejections"), "Refusals in the last hour"),
                    **_errors(401, 403),
                },
            }
        },
        "/api/alerts": {
            "get": {
                "summary": "Alert rules with their state, targets, and the newest alert events",
                "responses": {"200": _json_body(_ref("AlertsResponse"), "Alerts"), **_errors(401, 403)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (read scope when tokens exist)",
                "responses": {
                    "200": {
                        "description": "text/plain exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403),
                },
            }
        },
    }


def _history_operations(filters: list[Any], list_params: list[Any], total: dict[str, Any]) -> dict[str, Any]:
    """The history routes (``web/history.py``): the whole log, any range."""
    keyed = [
        _query("status", {"type": "string"}, "Only these final statuses (comma-separated); from the rollups"),
        *filters[1:3],
        _query("agent", {"type": "string"}, "Only this agent (scans the range's calls)"),
        _query("provider", {"type": "string"}, "Only calls using this STT/TTS/LLM/telephony provider or mode (scans)"),
    ]
    when = {"anyOf": [_WHEN, {"type": "number"}]}
    window = [
        _query("from", when, "ISO date/time or epoch seconds; rounded down to the minute (default: first call)"),
        _query("to", when, "ISO date/time or epoch seconds; rounded up to the minute (default: now)"),
    ]
    sizes = {"type": "integer", "enum": [60, 300, 900, 3600, 21600, 86400]}
    return {
        "/api/dashboard/history": {
            "get": {
                "summary": "Time-range aggregates and series over the whole log (rollups; q/agent/provider scan)",
                "parameters": [
                    *window,
                    _query("bucket", sizes, "Series bucket in seconds (default: chosen for ~100-200 points)"),
                    *keyed,
                ],
                "responses": {"200": _json_body(_ref("History"), "Totals and series"), **_errors(400, 401, 403)},
            }
        },
        "/api/dashboard/history/calls": {
            "get": {
                "summary": "Completed calls of any range over the whole log, newest first by start",
                "parameters": [*list_params[:2], *window, *keyed, list_params[-1]],
                "responses": {
                    "200": _json_body(
                        {"type": "array", "items": {"anyOf": [_ref("CallRecord"), _ref("CallSummary")]}},
                        "Calls (CallSummary rows with view=summary)",
                        total,
                    ),
                    **_errors(400, 401, 403),
                },
            }
        },
    }


def _default_operation(route: Route) -> dict[str, Any]:
    """A route added to the table without documentation still appears, with its summary and errors."""
    summary = (route.handler.__doc__ or route.path).strip().splitlines()[0]
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK"}, **_errors(400, 401, 403)},
    }
    params = re.findall(r"{(\w+)[^}]*}", route.path)  # every {name} of the path must be declared
    if params:
        operation["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in params
        ]
    return operation


def _paths() -> dict[str, Any]:
    """The OpenAPI paths: one per route in the route table, its scope as ``x-scope``."""
    documented = _operations()
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if not route.api:
            continue
        method = route.method.lower()
        operation = dict(documented.get(route.path, {}).pop(method, None) or _default_operation(route))
        if route.scope in ("public", "signed"):
            operation["security"] = []  # signed: a LiveKit JWT checked by the handler, not a patterdash token
        operation["x-scope"] = route.scope
        paths.setdefault(route.path, {})[method] = operation
    orphans = sorted(f"{m.upper()} {p}" for p, ops in documented.items() for m in ops)
    if orphans:
        raise RuntimeError(f"documented but not in web/table.py: {orphans}")
    return paths


def generate() -> dict[str, Any]:
    """Every schema file name -> its JSON content."""
    files: dict[str, Any] = {
        "envelope.json": Event.model_json_schema(),
        "event_in.json": EventIn.model_json_schema(),
    }
    for type_, model in EVENT_DATA_MODELS.items():
        files[f"event.{type_}.json"] = model.model_json_schema()
    for name, model in _RESPONSES.items():
        files[f"response.{name}.json"] = model.model_json_schema()
    models: list[type[BaseModel]] = [
        EventIn,
        Event,
        api_models.PatterIngestPayload,
        api_models.DeleteRequest,
        *_RESPONSES.values(),
    ]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    files["openapi.json"] = {
        "openapi": "3.1.0",
        "info": {
            "title": "patterdash",
            "version": __version__,
            "description": "Call-monitoring API for voice-AI phone agents (SPEC §4).",
        },
        "servers": [{"url": "http://127.0.0.1:8000"}],
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "query": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"bearer": []}, {"query": []}],
        "paths": _paths(),
    }
    return files


def render() -> dict[str, str]:
    """File name -> exact file text."""
    return {name: _dump(content) for name, content in generate().items()}


def write(out: Path) -> list[str]:
    """Write the schemas into ``out``, removing stale ones; returns the file names."""
    out.mkdir(parents=True, exist_ok=True)
    files = render()
    for old in out.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return sorted(files)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "schemas"
    names = write(target)
    print(f"wrote {len(names)} schema files to {target}")
