"""The Dapr state store's own table, read directly (the state API cannot list keys).

The postgres state store (v2) keeps every entry in ``dapr_state``: customer
documents under ``customer-service||customer:<id>``, and the outbox's markers
under ``outbox-<uuid>`` (value ``"0"``) from the commit of a transaction until
its event is published. A marker that stays means an event that was not.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from readmodel.projection import Connection

STATE_TABLE = "dapr_state"
DOCUMENT_PREFIX = "customer-service||customer:"
# Claims on unique values (actors/claim_store.py): {"customer_id", "claimed_at"}.
CLAIM_PREFIX = "customer-service||claim:"
MARKER_PREFIX = "outbox-"
# Markers are few; documents are many: a partial index finds the old markers.
MARKER_INDEX = "customer_outbox_markers_idx"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredDocument:
    customer_id: str
    # None when the stored bytes are not a JSON object (``unreadable`` says why).
    document: dict[str, Any] | None
    written_at: datetime
    unreadable: str | None = None


def _stored(key: str, raw: str, written_at: datetime) -> StoredDocument:
    customer_id = key[len(DOCUMENT_PREFIX) :]
    try:
        document = json.loads(raw)
    except ValueError as exc:
        return StoredDocument(customer_id, None, written_at, f"not JSON: {exc}")
    if not isinstance(document, dict):
        return StoredDocument(customer_id, None, written_at, "not a JSON object")
    return StoredDocument(customer_id, document, written_at)


async def documents_after(
    conn: Connection, after_key: str, limit: int, written_before: datetime | None = None
) -> tuple[list[StoredDocument], str | None]:
    """Up to ``limit`` documents with keys after ``after_key``, in key order, and
    the key to continue from (None at the end). ``written_before`` (the
    database's clock) leaves out documents written since (their events may
    still be on their way). A document that cannot be read is returned as such,
    never raised: one bad row must not stop a sweep."""
    rows = await conn.fetch(
        f"SELECT key, convert_from(value, 'UTF8') AS doc, "  # noqa: S608 - a constant
        f"coalesce(updated_at, created_at) AS written_at FROM {STATE_TABLE} "
        "WHERE key LIKE $1 AND key > $2 ORDER BY key LIMIT $3",
        DOCUMENT_PREFIX + "%",
        after_key or DOCUMENT_PREFIX,
        limit,
    )
    found = [
        _stored(row["key"], row["doc"], row["written_at"])
        for row in rows
        if written_before is None or row["written_at"] < written_before
    ]
    next_key = rows[-1]["key"] if len(rows) == limit else None
    return found, next_key


async def stored_value(conn: Connection, key: str) -> bytes | None:
    """The bytes stored under ``key`` (a JSON value as Dapr wrote it), or None."""
    value: bytes | None = await conn.fetchval(
        f"SELECT value FROM {STATE_TABLE} WHERE key = $1",  # noqa: S608 - a constant
        key,
    )
    return value


async def stored_values(conn: Connection, keys: list[str]) -> dict[str, bytes]:
    """The bytes stored under each of ``keys`` that holds any (one indexed read)."""
    rows = await conn.fetch(
        f"SELECT key, value FROM {STATE_TABLE} WHERE key = ANY($1::text[])",  # noqa: S608
        keys,
    )
    return {row["key"]: row["value"] for row in rows}


async def delete_claims_of_erased(conn: Connection) -> list[str]:
    """Delete every claim whose holder's document is a tombstone (an erased
    customer holds nothing; its release is best effort and may have failed);
    the keys deleted. A claim taken over meanwhile by another customer no longer
    names the erased one and stays (the delete re-checks each row it locks)."""
    rows = await conn.fetch(
        f"DELETE FROM {STATE_TABLE} AS c USING {STATE_TABLE} AS d "  # noqa: S608 - constants
        "WHERE c.key LIKE $1 AND d.key = $2 || "
        "(CASE WHEN convert_from(c.value, 'UTF8') LIKE '{%}' "
        "THEN convert_from(c.value, 'UTF8')::jsonb ->> 'customer_id' END) "
        "AND (CASE WHEN convert_from(d.value, 'UTF8') LIKE '{%}' "
        "THEN convert_from(d.value, 'UTF8')::jsonb ->> 'erased_at' END) IS NOT NULL "
        "RETURNING c.key",
        CLAIM_PREFIX + "%",
        DOCUMENT_PREFIX,
    )
    return [row["key"][len(CLAIM_PREFIX) :] for row in rows]


async def database_now(conn: Connection) -> datetime:
    """The database's clock: the one every ``written_at`` is on."""
    moment: datetime = await conn.fetchval("SELECT now()")
    return moment


async def ensure_marker_index(conn: Connection) -> bool:
    """Create the markers' partial index once Dapr has made its table; False before.

    CONCURRENTLY: a plain build would block every commit until it is done. One
    left invalid by a failed build is dropped, and the next call tries again.
    """
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", STATE_TABLE):
        return False
    valid = await conn.fetchval(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", MARKER_INDEX
    )
    if valid:
        return True
    if valid is False:
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {MARKER_INDEX}", timeout=None)
    await conn.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {MARKER_INDEX} ON {STATE_TABLE} (created_at) "
        f"WHERE key LIKE '{MARKER_PREFIX}%'",
        timeout=None,
    )
    return True


async def stale_markers(conn: Connection, older_than_seconds: float) -> tuple[int, datetime | None]:
    """How many outbox markers are older than that, and when the oldest was written."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, min(created_at) AS oldest FROM {STATE_TABLE} "  # noqa: S608
        f"WHERE key LIKE '{MARKER_PREFIX}%' "
        "AND created_at < now() - make_interval(secs => $1)",
        older_than_seconds,
    )
    assert row is not None
    return int(row["n"]), row["oldest"]
