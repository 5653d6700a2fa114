"""A few Redis commands over the wire protocol (RESP2), for tests that read
what daprd wrote (streams) without a Redis client library."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

CONNECT_SECONDS = 5.0


class RedisError(Exception):
    """Redis answered with an error reply."""


class RedisWire:
    """One connection; ``await RedisWire.connect(address, password)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, address: str, password: str = "") -> RedisWire:
        host, port = address.rsplit(":", 1)
        async with asyncio.timeout(CONNECT_SECONDS):
            reader, writer = await asyncio.open_connection(host, int(port))
        wire = cls(reader, writer)
        if password:
            await wire.command("AUTH", password)
        return wire

    async def __aenter__(self) -> RedisWire:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def command(self, *args: str | bytes | int) -> Any:
        """Send one command; its reply (bytes, int, list, None)."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        frame = [b"*%d\r\n" % len(parts)]
        for part in parts:
            frame.append(b"$%d\r\n%s\r\n" % (len(part), part))
        self._writer.write(b"".join(frame))
        await self._writer.drain()
        return await self._reply()

    async def _reply(self) -> Any:
        line = (await self._reader.readuntil(b"\r\n"))[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            return (await self._reader.readexactly(size + 2))[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [await self._reply() for _ in range(count)]
        raise RedisError(f"unexpected reply {line[:40]!r}")

    async def stream_entries(
        self, stream: str, page: int = 500
    ) -> list[tuple[str, dict[str, bytes]]]:
        """Every entry of ``stream`` (XRANGE, paged): (entry id, field -> value)."""
        entries: list[tuple[str, dict[str, bytes]]] = []
        start = "-"
        while True:
            batch = await self.command("XRANGE", stream, start, "+", "COUNT", page)
            for entry_id, flat in batch or []:
                fields = {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
                entries.append((entry_id.decode(), fields))
            if not batch or len(batch) < page:
                return entries
            start = "(" + entries[-1][0]
