"""Sessions and their refresh tokens, in Postgres (migrations/0003_accounts.sql).

A login opens a session with one refresh token, kept as its SHA-256 digest
only. A refresh replaces the token it used, in one transaction that locks the
session, so that concurrent refreshes and ends are serialized; which way it
goes is judged by ``domain.sessions.judge_refresh``. Ending sessions notifies
``customer_sessions_ended`` in the same transaction (the payload: the ended
ids), and this process's own ``EndedSessions`` learns them at once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.sessions import RefreshRecord, RefreshVerdict, judge_refresh

if TYPE_CHECKING:
    from accounts.ended_sessions import EndedSessions

Connection = asyncpg.Connection | PoolConnectionProxy

CHANNEL = "customer_sessions_ended"
# A notification's payload holds at most 8000 bytes: ids go out in batches.
_NOTIFY_BATCH = 150
_LISTED = 100

_FIND = """
SELECT t.expires_at, t.rotated_at, s.id::text AS session_id, s.customer_id::text AS customer_id,
       s.epoch, s.ended_at IS NOT NULL AS ended
FROM refresh_tokens t JOIN customer_sessions s ON s.id = t.session_id
WHERE t.digest = $1
FOR UPDATE OF t, s
"""
_END_ONE = """
UPDATE customer_sessions SET ended_at = now(), ended_reason = $2
WHERE id = $1::uuid AND ended_at IS NULL RETURNING id::text
"""
_END_ALL = """
UPDATE customer_sessions SET ended_at = now(), ended_reason = $2
WHERE customer_id = $1::uuid AND ended_at IS NULL RETURNING id::text
"""


@dataclasses.dataclass(frozen=True, slots=True)
class SessionRef:
    """The session a refresh continues."""

    id: str
    customer_id: str
    epoch: int


@dataclasses.dataclass(frozen=True, slots=True)
class SessionView:
    """A live session as its customer sees it (nothing secret)."""

    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None


async def ended_since(conn: Connection, keep: timedelta) -> list[tuple[str, float]]:
    """Sessions that ended within ``keep``: (id, when, in seconds since the epoch)."""
    rows = await conn.fetch(
        "SELECT id::text AS id, extract(epoch FROM ended_at)::float8 AS at "
        "FROM customer_sessions WHERE ended_at > now() - $1::interval",
        keep,
    )
    return [(row["id"], row["at"]) for row in rows]


class SessionStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        ended: EndedSessions,
        lifetime: timedelta,
        grace: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._ended = ended
        # How long a refresh token lives (each refresh gives the session as long again).
        self.lifetime = lifetime
        self._grace = grace
        self._clock = clock

    async def open(self, session: SessionRef, user_agent: str | None, refresh_digest: str) -> None:
        """A new session with its first refresh token."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO customer_sessions (id, customer_id, epoch, created_at, last_used_at, "
                "user_agent, expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6)",
                uuid.UUID(session.id),
                uuid.UUID(session.customer_id),
                session.epoch,
                now,
                user_agent,
                now + self.lifetime,
            )
            await self._issue(conn, session.id, refresh_digest, now)

    async def session(self, session_id: str) -> SessionRef | None:
        """The session of that id, unless it ended or expired."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT id::text AS id, customer_id::text AS customer_id, epoch "
                "FROM customer_sessions WHERE id = $1 AND ended_at IS NULL AND expires_at > now()",
                uuid.UUID(session_id),
            )
        return None if row is None else SessionRef(row["id"], row["customer_id"], row["epoch"])

    async def refresh(
        self, digest: str, successor: str
    ) -> tuple[RefreshVerdict, SessionRef | None]:
        """Use the refresh token of ``digest``: on ROTATE or SIBLING the token of
        ``successor`` is issued in its session; a REUSED one ends its session."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_FIND, digest)
            record = None if row is None else RefreshRecord(row[0], row[1], row["ended"])
            verdict = judge_refresh(record, now, self._grace)
            if row is None or verdict is RefreshVerdict.INVALID:
                return verdict, None
            session = SessionRef(row["session_id"], row["customer_id"], row["epoch"])
            if verdict is RefreshVerdict.REUSED:
                ended = await _end(conn, _END_ONE, session.id, "refresh_token_reused")
            else:
                ended = []
                await self._continue(conn, session.id, digest, successor, now, verdict)
        self._ended.add(ended)
        return verdict, session

    async def end(self, session_id: str, reason: str) -> None:
        """End one session: its id is refused from now on, even if no such
        session was stored (a token minted elsewhere with the secret)."""
        stored = _is_uuid(session_id)
        async with self._pool.acquire() as conn, conn.transaction():
            statement = _END_ONE if stored else None
            ended = await _end(conn, statement, session_id, reason, also=[session_id])
        self._ended.add(ended)

    async def end_all(self, customer_id: str, reason: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            ended = await _end(conn, _END_ALL, customer_id, reason)
        self._ended.add(ended)

    async def live(self, customer_id: str) -> list[SessionView]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id::text AS id, created_at, last_used_at, user_agent "
                "FROM customer_sessions WHERE customer_id = $1 AND ended_at IS NULL "
                "AND expires_at > now() ORDER BY created_at DESC LIMIT $2",
                uuid.UUID(customer_id),
                _LISTED,
            )
        return [SessionView(**dict(row)) for row in rows]

    async def _continue(
        self,
        conn: Connection,
        session_id: str,
        digest: str,
        successor: str,
        now: datetime,
        verdict: RefreshVerdict,
    ) -> None:
        if verdict is RefreshVerdict.ROTATE:
            await conn.execute(
                "UPDATE refresh_tokens SET rotated_at = $2 WHERE digest = $1", digest, now
            )
        await self._issue(conn, session_id, successor, now)
        # "Last used" moves with refreshes only, never per request.
        await conn.execute(
            "UPDATE customer_sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1",
            uuid.UUID(session_id),
            now,
            now + self.lifetime,
        )

    async def _issue(self, conn: Connection, session_id: str, digest: str, now: datetime) -> None:
        await conn.execute(
            "INSERT INTO refresh_tokens (digest, session_id, issued_at, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            digest,
            uuid.UUID(session_id),
            now,
            now + self.lifetime,
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _end(
    conn: Connection,
    statement: str | None,
    subject: str,
    reason: str,
    also: Sequence[str] = (),
) -> list[str]:
    """End the sessions ``statement`` selects, and ``also``; notify every process."""
    rows = [] if statement is None else await conn.fetch(statement, subject, reason)
    ended = sorted({row["id"] for row in rows} | set(also))
    for start in range(0, len(ended), _NOTIFY_BATCH):
        payload = ",".join(ended[start : start + _NOTIFY_BATCH])
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
    return ended
