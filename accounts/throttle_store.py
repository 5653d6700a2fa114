"""Windowed counters in Postgres (table ``throttles``), shared by every replica.

``hit`` counts one more hit of each key in one atomic statement: a key whose
window has passed starts again at one. What the counts allow is decided by
``domain.throttles``; times are the database's, so replicas' clocks agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from domain.throttles import Counter

_HIT = """
INSERT INTO throttles AS t (key, hits, resets_at)
SELECT key, 1, now() + $2::interval FROM unnest($1::text[]) AS key
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN t.resets_at <= now() THEN 1 ELSE t.hits + 1 END,
    resets_at = CASE WHEN t.resets_at <= now() THEN now() + $2::interval ELSE t.resets_at END
RETURNING key, hits, resets_at, now() AS at
"""


class ThrottleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def hit(
        self, keys: Sequence[str], window: timedelta
    ) -> tuple[dict[str, Counter], datetime]:
        """Each key's counter after one more hit, and the database's time."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_HIT, sorted(set(keys)), window)
        counters = {row["key"]: Counter(row["hits"], row["resets_at"]) for row in rows}
        return counters, rows[0]["at"]

    async def read(self, key: str) -> tuple[Counter | None, datetime]:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT now() AS at, t.hits, t.resets_at FROM (SELECT 1) AS one "
                "LEFT JOIN throttles t ON t.key = $1",
                key,
            )
        assert row is not None
        counter = None if row["hits"] is None else Counter(row["hits"], row["resets_at"])
        return counter, row["at"]

    async def extend(self, key: str, window: timedelta) -> datetime:
        """The key's window ends ``window`` from now (a lock from its last failure)."""
        async with self._pool.acquire() as conn:
            resets_at: datetime = await conn.fetchval(
                "UPDATE throttles SET resets_at = now() + $2::interval WHERE key = $1 "
                "RETURNING resets_at",
                key,
                window,
            )
        return resets_at

    async def clear(self, *keys: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM throttles WHERE key = ANY($1::text[])", list(keys))
