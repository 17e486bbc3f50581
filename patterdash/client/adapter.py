"""The Patter adapter: the SDK's metrics-store method names, forwarding every call event to patterdash.

Re-exported by ``patterdash.client``; accepts the SDK's dataclasses or dicts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from patterdash.sources.calllog import event_id

if TYPE_CHECKING:
    from patterdash.client.http import PatterdashClient, SyncPatterdashClient

__all__ = ["PatterAdapter", "mirror_patter_store"]

log = logging.getLogger("patterdash.client")


def _plain(value: Any) -> Any:
    """Dataclasses (the SDK's frozen metrics) and tuples -> JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_DIRECTIONS = ("inbound", "outbound")
_Built = tuple[str, str, dict[str, Any], str | None]  # (type, call_id, data, event id or None)


def _fields(data: Any, *, drop: tuple[str, ...] = ("call_id",)) -> dict[str, Any]:
    """A payload (dict or dataclass) as plain data without the envelope keys; bad directions removed."""
    plain = _plain(data) if data is not None else {}
    if not isinstance(plain, dict):
        return {}
    out = {k: v for k, v in plain.items() if k not in drop}
    if "direction" in out and out["direction"] not in _DIRECTIONS:
        del out["direction"]
    return out


class PatterAdapter:
    """The Patter SDK's metrics-store methods, forwarding every call event to patterdash.

    Accepts the SDK's dataclasses or dicts. With ``store`` it also calls that store
    first and delegates every other attribute to it, so it can stand in for the
    SDK's own MetricsStore. Forwarding never raises into the agent's call path.
    Start, initiated and end use the ids the server gives the SDK's own
    ``notify_dashboard`` posts, so both paths together never duplicate a call.
    """

    def __init__(self, client: PatterdashClient | SyncPatterdashClient, *, store: Any = None) -> None:
        self.client = client
        self.store = store

    def __getattr__(self, name: str) -> Any:
        store = self.__dict__.get("store")
        if store is None:
            raise AttributeError(name)
        return getattr(store, name)

    def _forward(self, method: str, build: Callable[[], _Built], *args: Any, **kwargs: Any) -> None:
        if self.store is not None:
            getattr(self.store, method)(*args, **kwargs)
        try:
            type_, call_id, data, event_id = build()
            if call_id:
                self.client.emit(type_, call_id, data, event_id=event_id)
        except Exception:  # reporting must never break a live call
            log.warning("patterdash adapter: %s not forwarded", method, exc_info=True)

    def record_call_initiated(self, data: dict[str, Any]) -> None:
        """An outbound dial was handed to the carrier."""

        def build() -> _Built:
            cid = str(data.get("call_id") or "")
            return "call_initiated", cid, {"status": "initiated", **_fields(data)}, event_id(cid, "call_initiated")

        self._forward("record_call_initiated", build, data)

    def record_call_start(self, data: dict[str, Any]) -> None:
        """The call's media stream began."""

        def build() -> _Built:
            cid = str(data.get("call_id") or "")
            return "call_start", cid, _fields(data, drop=("call_id", "status")), event_id(cid, "call_start")

        self._forward("record_call_start", build, data)

    def update_call_status(self, call_id: str, status: str, **extra: Any) -> None:
        """The carrier reported a status (terminal ones end the call)."""

        def build() -> _Built:
            return "call_status", str(call_id or "") if status else "", {**_fields(extra), "status": status}, None

        self._forward("update_call_status", build, call_id, status, **extra)

    def record_transcript_line(self, data: dict[str, Any]) -> None:
        """One user or assistant line became known."""

        def build() -> _Built:
            ok = data.get("role") in ("user", "assistant") and data.get("text")
            cid = str(data.get("call_id") or "") if ok else ""
            line = {"turnIndex": data.get("turnIndex"), "role": data.get("role"), "text": data.get("text")}
            return "transcript_line", cid, line, None

        self._forward("record_transcript_line", build, data)

    def record_turn(self, data: dict[str, Any]) -> None:
        """A conversation turn completed (``data["turn"]`` is a TurnMetrics or a dict)."""

        def build() -> _Built:
            turn = data.get("turn")
            cid = str(data.get("call_id") or "") if turn is not None else ""
            return "turn_complete", cid, {"turn": _plain(turn)}, None

        self._forward("record_turn", build, data)

    def record_call_end(self, data: dict[str, Any], metrics: Any = None) -> None:
        """The call ended: final transcript and CallMetrics (dataclass or dict)."""

        def build() -> _Built:
            cid = str(data.get("call_id") or "")
            body = _fields(data, drop=("call_id", "metrics"))
            final = metrics if metrics is not None else data.get("metrics")
            if final is not None:
                body["metrics"] = _plain(final)
            return "call_end", cid, body, event_id(cid, "call_end")

        self._forward("record_call_end", build, data, metrics)


_MIRRORED = (
    "record_call_initiated",
    "record_call_start",
    "update_call_status",
    "record_transcript_line",
    "record_turn",
    "record_call_end",
)


def mirror_patter_store(client: PatterdashClient | SyncPatterdashClient) -> Callable[[], None]:
    """Make every MetricsStore the Patter SDK creates also report to patterdash; returns an undo.

    Call it before ``Patter.serve()`` (the SDK builds its store then, with
    ``dashboard=True``, the default). Needs the ``getpatter`` package.
    """
    from getpatter.dashboard import store as patter_store

    original = patter_store.MetricsStore
    namespace: dict[str, Any] = {"__doc__": "Patter's MetricsStore, mirrored to patterdash."}
    for name in _MIRRORED:
        namespace[name] = _mirrored_method(name, original, client)
    mirrored = type("MirroredMetricsStore", (original,), namespace)
    patter_store.MetricsStore = mirrored  # type: ignore[misc,assignment]

    def undo() -> None:
        patter_store.MetricsStore = original  # type: ignore[misc]

    return undo


def _mirrored_method(name: str, base: type, client: PatterdashClient | SyncPatterdashClient) -> Callable[..., None]:
    adapter = PatterAdapter(client)

    def method(self: Any, *args: Any, **kwargs: Any) -> None:
        getattr(base, name)(self, *args, **kwargs)
        getattr(adapter, name)(*args, **kwargs)

    method.__name__ = name
    return method
