"""DNS-rebinding and cross-origin guards: which ``Host`` and ``Origin`` values a request may carry.

A web page the operator visits can point its own name at 127.0.0.1 (DNS rebinding) and then
talk to an open local dashboard as a "same-origin" page. Its requests still say
``Host: attacker.example``, so a server bound to loopback accepts only loopback names (plus
the ones given with ``--allowed-host``), as Vite, Jupyter and webpack-dev-server do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from aiohttp import web

from patterdash.web.errors import json_error
from patterdash.web.keys import SETTINGS

__all__ = ["host_allowed", "host_middleware", "hostname_of", "is_loopback", "origin_allowed"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@lru_cache(maxsize=256)  # a pure verdict per name; parsing an address costs more than the rest of the check
def is_loopback(host: str) -> bool:
    """Whether a name or address stays on this machine (``localhost``, ``*.localhost``, 127/8, ::1)."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def hostname_of(netloc: str) -> str:
    """The host part of ``name``, ``name:port``, ``[::1]:port`` (lower-case, no brackets)."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    if netloc.count(":") > 1:  # a bare IPv6 address
        return netloc
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def host_allowed(host_header: str, allowed: Iterable[str]) -> bool:
    """A loopback name or address (any port), or one of ``allowed`` (``*`` allows any)."""
    name = hostname_of(host_header)
    if is_loopback(name):
        return True
    for entry in allowed:
        entry = entry.strip().lower()
        if entry in ("*", host_header.strip().lower()) or (":" not in entry and entry == name):
            return True
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):  # .example.com: any subdomain
            return True
    return False


def origin_allowed(origin: str, host_header: str, allowed: Iterable[str]) -> bool:
    """Same origin as the ``Host`` the request was sent to, or a host explicitly allowed."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file://) and anything odd
    if parts.netloc.lower() == host_header.strip().lower():
        return True
    name = hostname_of(parts.netloc)
    return any(e.strip().lower() in ("*", name, parts.netloc.lower()) for e in allowed)


@lru_cache(maxsize=256)  # every request of a client carries the same Host: judge it once (bounded for odd ones)
def _host_passes(host: str, bind: str, allowed: tuple[str, ...]) -> bool:
    """Whether a server bound to ``bind`` answers to ``Host: host``: always, unless loopback-bound or limited."""
    return not (is_loopback(bind) or allowed) or host_allowed(host, allowed)


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """421 for a foreign ``Host`` on a loopback bind; 403 for a cross-origin state change, token or not."""
    settings = request.app[SETTINGS]
    host = request.headers.get("Host")
    allowed = settings.allowed_hosts
    if host is not None and not _host_passes(host, settings.host, tuple(allowed)):
        return json_error(
            421,
            "host not allowed",
            "this server answers only to loopback names; add a name with --allowed-host or PATTERDASH_ALLOWED_HOSTS",
        )
    origin = request.headers.get("Origin")
    if request.method not in _SAFE_METHODS and origin is not None and not origin_allowed(origin, host or "", allowed):
        return json_error(403, "cross-origin request refused", "state-changing requests must come from this origin")
    return await handler(request)
