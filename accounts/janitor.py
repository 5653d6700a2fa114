"""Bounded storage: what the sign-in state no longer needs is deleted.

Run by every replica's worker (worker/app.py); the deletes are idempotent, so
replicas doing them at once only share the work. Throttle counters go once
their window passed, refresh tokens once expired, sessions once ended or
expired for ``retention`` (kept that long so that a process starting up still
learns the ended sessions whose access tokens may be valid).
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from security.access_tokens import MAX_LIFETIME

# Ended or expired sessions stay stored this long: longer than any access token
# may live, so that a process starting up still learns every ended session
# whose tokens may be valid.
RETENTION = MAX_LIFETIME + timedelta(hours=1)

# Each statement deletes at most this many rows per round: short locks.
BATCH = 5000

_STATEMENTS = (
    "DELETE FROM throttles WHERE key IN "
    "(SELECT key FROM throttles WHERE resets_at < now() LIMIT $1)",
    "DELETE FROM refresh_tokens WHERE digest IN "
    "(SELECT digest FROM refresh_tokens WHERE expires_at < now() LIMIT $1)",
    "DELETE FROM customer_sessions WHERE id IN (SELECT id FROM customer_sessions "
    "WHERE coalesce(ended_at, expires_at) < now() - $2::interval LIMIT $1)",
)


async def sweep(pool: asyncpg.Pool, retention: timedelta = RETENTION) -> int:
    """One round; how many rows it deleted."""
    deleted = 0
    async with pool.acquire() as conn:
        for statement in _STATEMENTS:
            arguments = (BATCH, retention) if "$2" in statement else (BATCH,)
            status = await conn.execute(statement, *arguments)
            deleted += int(status.split()[-1])
    return deleted
