"""A small SSE reader for tests (parses frames off a real aiohttp stream)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Frame:
    """One SSE event."""

    id: int
    event: str
    data: dict[str, Any]


class SSEReader:
    """Reads frames and comments from an open event-stream response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next_frame(self, timeout: float = 5.0) -> Frame:
        """The next event frame (comments are collected on the side)."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise ConnectionError("stream ended")
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "data" in fields:
                        return Frame(int(fields["id"]), fields["event"], json.loads(fields["data"]))
                    fields = {}
                    continue
                if line.startswith(":"):
                    self.comments.append(line)
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")

    async def next_comment(self, timeout: float = 5.0) -> str:
        """The next comment line (keep-alives), skipping everything else."""
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise ConnectionError("stream ended")
                if raw.startswith(b":"):
                    return raw.decode().rstrip("\r\n")

    async def frames(self, count: int, timeout: float = 5.0) -> list[Frame]:
        """The next ``count`` frames."""
        return [await self.next_frame(timeout) for _ in range(count)]
