"""The configured customer groups in the read model: a list for reports and joins."""

from __future__ import annotations

import asyncpg

from observability.logging import get_logger

log = get_logger(__name__)


async def record_groups(pool: asyncpg.Pool, groups: list[str]) -> None:
    """Make the customer_groups table list exactly ``groups`` (best effort: the
    service starts while Postgres is down, and health reports it)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM customer_groups WHERE NOT (id = ANY($1))", groups)
            # A deleted group never comes back (its id is not reused): a registry
            # read before its deletion was projected must not bring it back.
            await conn.executemany(
                "INSERT INTO customer_groups (id) SELECT $1::varchar WHERE NOT EXISTS "
                "(SELECT 1 FROM customer_group_tombstones WHERE id = $1) "
                "ON CONFLICT (id) DO NOTHING",
                [(group,) for group in groups],
            )
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("could not record the customer groups", error=type(exc).__name__)
