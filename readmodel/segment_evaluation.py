"""Re-evaluating one segment for every customer, after the segment changed.

Runs in the worker, in batches by customer id. A segment whose
``evaluated_at`` is older than its ``updated_at`` has not been evaluated since
it changed; the worker looks for those every second, so neither a restart nor
a failed evaluation loses anything. Each batch share-locks the customer rows
it reads, so the projector cannot change a customer between the read and the
membership written from it.

Each batch is one short transaction that starts by taking a share lock on the
segment's row (the lock its member inserts take anyway) and stops the
evaluation if the segment is gone. Batches are small because the membership
events are published inside the transaction (at least once: a failed publish
rolls the batch back): a ``DELETE`` of the segment waits for one batch at
most, never for a whole evaluation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from domain.segments import Segment, memberships
from readmodel.projection import Connection, segment_from_row

BATCH = 200

# (customer id, added segment ids, removed segment ids) -> published
Announce = Callable[[str, list[str], list[str]], Awaitable[None]]

_BATCH_SQL = """
SELECT c.id::text AS id, c.status, c.customer_type, c.customer_group_id, c.gender,
       c.registration_source, c.email_verified, c.two_factor_enabled, c.date_of_birth,
       c.created_at, c.last_login_at, c.deleted_at, c.total_orders,
       c.total_spent::text AS total_spent, c.last_order_at,
       to_jsonb(p) AS preferences,
       coalesce((SELECT array_agg(a.country_code) FROM customer_addresses a
                 WHERE a.customer_id = c.id), '{}') AS countries
FROM customers c LEFT JOIN customer_preferences p ON p.customer_id = c.id
WHERE c.id > $1 AND c.deleted_at IS NULL
ORDER BY c.id LIMIT $2
FOR SHARE OF c
"""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot_of(row: asyncpg.Record) -> dict[str, Any]:
    """The part of a snapshot that segment rules read, from read-model columns."""
    preferences = row["preferences"]
    if isinstance(preferences, str):
        preferences = json.loads(preferences)
    return {
        "id": row["id"],
        "status": row["status"],
        "customer_type": row["customer_type"],
        "customer_group_id": row["customer_group_id"],
        "gender": row["gender"],
        "registration_source": row["registration_source"],
        "email_verified": row["email_verified"],
        "two_factor_enabled": row["two_factor_enabled"],
        "date_of_birth": _iso(row["date_of_birth"]),
        "created_at": _iso(row["created_at"]),
        "last_login_at": _iso(row["last_login_at"]),
        "deleted_at": _iso(row["deleted_at"]),
        "preferences": preferences or {},
        "addresses": [{"country_code": cc.strip()} for cc in row["countries"]],
        "orders": {
            "total_orders": row["total_orders"],
            "total_spent": row["total_spent"],
            "last_order_at": _iso(row["last_order_at"]),
        },
    }


async def evaluate_segment(pool: asyncpg.Pool, segment_id: str, announce: Announce) -> int:
    """Bring the members of one segment up to date; return how many changed."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, name, rules, min_score, is_default, active, updated_at, "
            "now() AS started FROM segments WHERE id = $1",
            uuid.UUID(segment_id),
        )
    if row is None:
        return 0
    segment: Segment = segment_from_row(row)
    # The database's clock: the one updated_at is on.
    started: datetime = row["started"]
    changed = 0
    after = uuid.UUID(int=0)
    while True:
        async with pool.acquire() as conn, conn.transaction():
            if not await _still_there(conn, segment.id):
                return changed  # deleted meanwhile: nothing left to evaluate
            rows = await conn.fetch(_BATCH_SQL, after, BATCH)
            if not rows:
                break
            ids = [r["id"] for r in rows]
            current = {
                str(r["customer_id"]): r["score"]
                for r in await conn.fetch(
                    "SELECT customer_id, score FROM segment_members "
                    "WHERE segment_id = $1 AND customer_id = ANY($2::uuid[])",
                    segment.id,
                    ids,
                )
            }
            today = started.date()
            wanted = {
                r["id"]: score
                for r in rows
                if (score := memberships([segment], snapshot_of(r), today).get(segment.id))
                is not None
            }
            added = [cid for cid in wanted if cid not in current]
            removed = [cid for cid in current if cid not in wanted]
            await conn.execute(
                "DELETE FROM segment_members WHERE segment_id = $1 "
                "AND customer_id = ANY($2::uuid[])",
                segment.id,
                removed,
            )
            await conn.executemany(
                "INSERT INTO segment_members (segment_id, customer_id, score, assigned_at) "
                "VALUES ($1, $2, $3, now()) ON CONFLICT (segment_id, customer_id) "
                "DO UPDATE SET score = EXCLUDED.score",
                [(segment.id, cid, s) for cid, s in wanted.items() if current.get(cid) != s],
            )
            for cid in added:
                await announce(cid, [segment.id], [])
            for cid in removed:
                await announce(cid, [], [segment.id])
            changed += len(added) + len(removed)
            after = uuid.UUID(ids[-1])
    async with pool.acquire() as conn:
        # Only if nobody changed the segment meanwhile (that change evaluates again).
        await conn.execute(
            "UPDATE segments SET evaluated_at = $2 WHERE id = $1 AND updated_at <= $2",
            segment.id,
            started,
        )
    return changed


async def _still_there(conn: Connection, segment_id: str) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM segments WHERE id = $1 FOR KEY SHARE", uuid.UUID(segment_id)
    )
    return bool(found)


async def stale_segments(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id::text AS id FROM segments "
            "WHERE evaluated_at IS NULL OR evaluated_at < updated_at"
        )
    return [row["id"] for row in rows]
