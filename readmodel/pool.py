"""The connection pool each process opens on the database."""

from __future__ import annotations

import asyncpg


async def keep_session(_conn: asyncpg.Connection) -> None:
    """What a pooled connection needs before its next use: nothing. asyncpg rolls
    back an open transaction and drops listeners itself; its default reset adds
    a round trip (RESET ALL, UNLISTEN *, ...) to every release, and nothing here
    sets session state on a pooled connection (LISTEN and the rebuild's
    search_path use connections of their own)."""


async def open_pool(dsn: str, max_size: int, command_timeout: float) -> asyncpg.Pool:
    # min_size=0: start even while Postgres is down; health reports it.
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        command_timeout=command_timeout,
        reset=keep_session,
    )
    return pool
