"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from patterdash.service import Service
from patterdash.settings import Settings

SERVICE = web.AppKey("service", Service)
SETTINGS = web.AppKey("settings", Settings)
COOKIE = "patterdash_session"
