"""Typed application state."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from patterdash.service import Service
from patterdash.settings import Settings

SERVICE = web.AppKey("service", Service)
SETTINGS = web.AppKey("settings", Settings)
# The connection guard's counters (patterdash serve only; absent under in-process test servers).
CONNECTION_COUNTS: web.AppKey[Callable[[], dict[str, int]]] = web.AppKey("connection_counts")
COOKIE = "patterdash_session"
