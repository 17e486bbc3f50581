"""Large JSON answers written in slices that give the event loop back between them.

A page of big call records can be hundreds of megabytes in the worst case; joining and
sending it in one loop turn would stall every other request (health checks included).
Small answers (the usual case) still go out whole, with a Content-Length.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web

__all__ = ["json_array"]

_SLICE_BYTES = 256 * 1024
_TURN_SECONDS = 0.02  # encoding time per loop turn, well under the ~50 ms stall budget


async def json_array(
    request: web.Request, parts: Iterable[bytes], *, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """``[part,part,...]``: one Response when small, else streamed in slices (chunked encoding)."""
    loop = asyncio.get_running_loop()
    turn_started = loop.time()
    out: list[bytes] = [b"["]
    size = 0
    response: web.StreamResponse | None = None
    for count, part in enumerate(parts):  # a lazy iterator: encoding a record happens here, slice by slice
        out.append(b"," + part if count else part)
        size += len(part)
        if size >= _SLICE_BYTES or loop.time() - turn_started > _TURN_SECONDS:
            if response is None:
                response = web.StreamResponse(headers=headers)
                response.content_type = "application/json"
                await response.prepare(request)
            await response.write(b"".join(out))
            out.clear()
            size = 0
            await asyncio.sleep(0)
            turn_started = loop.time()
    out.append(b"]")
    if response is None:
        return web.Response(body=b"".join(out), content_type="application/json", headers=headers)
    await response.write(b"".join(out))
    await response.write_eof()
    return response
