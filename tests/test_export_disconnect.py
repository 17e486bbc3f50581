"""A client that leaves a log export midway never holds the server up."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp

from patterdash.core.events import validate_event
from patterdash.store.sqlite import EventLog
from tests.factories import full_call
from tests.reliability_helpers import ServerProcess


def _big_log(db: Path, calls: int) -> None:
    log = EventLog(db)
    try:
        for start in range(0, calls, 250):
            batch = [
                validate_event(raw, now=0.0)
                for n in range(start, start + 250)
                for raw in full_call(f"call-{n}", ts=1_700_000_000.0 + n)
            ]
            log.append([batch], known_seq=log.max_seq())
    finally:
        log.close()


async def test_leaving_a_log_export_midway_then_stopping_the_server_exits_cleanly(tmp_path: Path) -> None:
    """The export's reader thread hands chunks to the loop; with nobody reading any more it must
    stop instead of waiting on the loop for ever (that once hung the server's shutdown)."""
    db = tmp_path / "big.db"
    _big_log(db, 3_000)  # far more chunks than the hand-over queue and the socket buffers hold
    server = ServerProcess(db)
    server.start()
    try:
        url = f"{server.base_url}/api/dashboard/export/calls?format=ndjson&scope=all&per=turn"
        async with aiohttp.ClientSession() as session:
            resp = await session.get(url)
            assert resp.status == 200
            assert len(await resp.content.readexactly(4096)) == 4096  # the stream is flowing
            resp.close()  # the client goes away mid-export
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        server.stop()
