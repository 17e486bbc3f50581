"""The SPA from ``ui_dist/``: index, hashed assets, the token cookie exchange, the login page."""

from __future__ import annotations

import html
import importlib.util
import mimetypes
import re
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from aiohttp import web

from patterdash.web.keys import COOKIE, SERVICE

__all__ = ["asset", "index", "login_page", "rejected_url", "safe_next", "ui_root"]

_IMMUTABLE = "public, max-age=31536000, immutable"
# Where signing in may return to: the dashboard or one call's page, on this origin only.
_PAGE = re.compile(r"/(calls/[^/]+)?")
_NOT_KEPT = frozenset({"token", "signin", "next"})  # credentials and the sign-in's own state


@cache
def ui_root() -> Path:
    """Where the built SPA lives: inside the installed package, else the checkout's ui_dist/."""
    spec = importlib.util.find_spec("patterdash._ui_dist")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "index.html").is_file():
                return Path(location).resolve()
    return (Path(__file__).resolve().parents[2] / "ui_dist").resolve()


def safe_next(raw: str | None) -> str:
    """The page to open after signing in: ``/`` or ``/calls/<id>`` (with its query) here, else ``/``.

    Anything with a scheme, a host, a backslash, a control character or another path would make
    the sign-in an open redirect, so it falls back to the dashboard.
    """
    if not raw or "\\" in raw or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.fragment or not _PAGE.fullmatch(parts.path):
        return "/"
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _NOT_KEPT]
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    return path + (f"?{urlencode(kept)}" if kept else "")


def rejected_url(back: str) -> str:
    """Where a rejected token goes: the sign-in page saying so, still knowing where to return."""
    return "/?signin=rejected" + ("" if back == "/" else f"&next={quote(back, safe='')}")


def _safe_path(root: Path, relative: str) -> Path | None:
    if "\x00" in relative or relative.startswith(("/", "\\")):
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _file_response(path: Path, cache_control: str) -> web.FileResponse:
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.FileResponse(path, headers={"Cache-Control": cache_control, "Content-Type": ctype})


async def index(request: web.Request) -> web.StreamResponse:
    """GET /: the SPA. With ``?token=`` it sets the session cookie and redirects to a clean URL.

    That URL is ``?next=`` when it names a dashboard page of this origin (a deep link signed in from).
    """
    if "token" in request.query:
        service = request.app[SERVICE]
        response = web.HTTPSeeOther(safe_next(request.query.get("next")))
        if not service.tokens.open:
            response.set_cookie(
                COOKIE,
                request.query["token"],
                httponly=True,
                samesite="Strict",
                path="/",
                secure=request.secure,
            )
        response.headers["Cache-Control"] = "no-store"
        raise response
    page = ui_root() / "index.html"
    if not page.is_file():
        return web.Response(text="patterdash: ui_dist/index.html is missing", status=500)
    return _file_response(page, "no-cache")


async def asset(request: web.Request) -> web.StreamResponse:
    """Files under ui_dist/ (hashed assets cached forever, others revalidated)."""
    relative = request.match_info["path"]
    root = ui_root()
    path = _safe_path(root, relative)
    if path is None or path.name == "index.html":
        raise web.HTTPNotFound()
    hashed = relative.startswith("assets/")
    return _file_response(path, _IMMUTABLE if hashed else "public, max-age=300")


def login_page(*, wrong: bool, back: str = "/") -> web.Response:
    """The one sign-in screen: a plain HTML token form (no script), answered with 401.

    ``back`` (already passed through ``safe_next``) is where the form returns after signing in.
    """
    note = "<p class=err>That token was not accepted.</p>" if wrong else ""
    field = "" if back == "/" else f'<input name=next type=hidden value="{html.escape(back)}">'

    body = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1"><title>patterdash - sign in</title>
<style>body{{background:#0f1115;color:#e6e8eb;font:15px system-ui,sans-serif;
display:grid;place-items:center;height:100vh;margin:0}}
form{{background:#171a21;padding:2rem;border-radius:8px;min-width:320px}}label{{display:block;margin-bottom:.5rem}}
input{{width:100%;padding:.5rem;margin-bottom:1rem;background:#0f1115;color:#e6e8eb;
border:1px solid #3a3f4b;border-radius:4px;box-sizing:border-box}}
button{{padding:.5rem 1rem;background:#3b6fd8;color:#fff;border:0;border-radius:4px}}
.err{{color:#ff8a80}}.hint{{color:#96a0ae;font-size:13px;max-width:320px}}</style></head>
<body><form method=get action="/"><h1>patterdash</h1>{note}
<label for=token>Dashboard token</label><input id=token name=token type=password autocomplete=off required autofocus>
{field}<button type=submit>Open dashboard</button>
<p class=hint>The token becomes a session cookie and leaves the address bar.
A token comes from <code>patterdash serve --token</code> or <code>patterdash token rotate</code>.</p>
</form></body></html>"""
    return web.Response(text=body, status=401, content_type="text/html", headers={"Cache-Control": "no-store"})
