"""``python -m readmodel.rebuild``: recreate the read model from the state store.

The customer documents in the Dapr state store are the truth (read straight
from its table: readmodel/state_table.py). The new read model is built beside
the live one, in a schema of its own, while lists and searches keep reading
the live tables; then, in one short transaction, the two swap places. Events
projected meanwhile went to the old tables, so the documents written since the
build began are projected once more into the new ones (higher version wins),
and the reconciler covers whatever is left.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from datetime import datetime, timedelta

import asyncpg

from domain.model import Customer
from domain.segments import Segment
from readmodel.migrate import DEVELOPMENT_DSN
from readmodel.projection import active_segments, apply_snapshot
from readmodel.projector import PERMANENT
from readmodel.state_table import StoredDocument, database_now, documents_after

BATCH = 500
NEXT = "readmodel_next"
OLD = "readmodel_old"
# In dependency order (a table before those that point at it), which is also
# the order a projection takes them in: the tombstones first (it reads them
# before it writes a customer).
TABLES = (
    "erased_customers",
    "customers",
    "customer_addresses",
    "customer_preferences",
    "segment_members",
)
_FOREIGN_KEYS = (
    "ALTER TABLE {s}.customer_addresses ADD FOREIGN KEY (customer_id) "
    "REFERENCES {s}.customers (id) ON DELETE CASCADE",
    "ALTER TABLE {s}.customer_preferences ADD FOREIGN KEY (customer_id) "
    "REFERENCES {s}.customers (id) ON DELETE CASCADE",
    "ALTER TABLE {s}.segment_members ADD FOREIGN KEY (customer_id) "
    "REFERENCES {s}.customers (id) ON DELETE CASCADE",
    "ALTER TABLE {s}.segment_members ADD FOREIGN KEY (segment_id) "
    "REFERENCES public.segments (id) ON DELETE CASCADE",
)
# Documents written this close to the start may have been read before their
# last change; project them again after the swap.
_OVERLAP = timedelta(seconds=5)


async def _create_shadow(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
    await conn.execute(f"CREATE SCHEMA {NEXT}")
    for table in TABLES:
        await conn.execute(f"CREATE TABLE {NEXT}.{table} (LIKE public.{table} INCLUDING ALL)")
    for statement in _FOREIGN_KEYS:
        await conn.execute(statement.format(s=NEXT))


@dataclasses.dataclass
class Tally:
    projected: int = 0
    # Documents the read model can never show (unreadable, impossible values).
    skipped: list[str] = dataclasses.field(default_factory=list)


async def _project_all(
    conn: asyncpg.Connection, tally: Tally, since: datetime | None = None
) -> None:
    """Project every document (written after ``since``) into the tables that
    unqualified names resolve to on ``conn``; one bad document is skipped."""
    segments = await active_segments(conn)
    after = ""
    while True:
        documents, next_key = await documents_after(conn, after, BATCH)
        async with conn.transaction():
            for stored in documents:
                if since is None or stored.written_at >= since:
                    await _project_one(conn, stored, segments, tally)
        if next_key is None:
            return
        after = next_key


async def _project_one(
    conn: asyncpg.Connection, stored: StoredDocument, segments: list[Segment], tally: Tally
) -> None:
    try:
        if stored.document is None:
            raise ValueError(stored.unreadable)
        snapshot = Customer.from_document(stored.document).snapshot()
        async with conn.transaction():  # a savepoint: a failure undoes this one only
            if await apply_snapshot(conn, snapshot, segments) is not None:
                tally.projected += 1
    except (*PERMANENT, KeyError, TypeError, ValueError) as exc:
        tally.skipped.append(stored.customer_id)
        print(f"rebuild: skipped {stored.customer_id}: {type(exc).__name__}", file=sys.stderr)


async def _swap(conn: asyncpg.Connection) -> None:
    """The new tables take the live ones' places, in one short transaction.

    The tables are locked first, in the order a projection writes them, so the
    swap waits for projections in flight instead of deadlocking with them; a
    swap that still fails is tried again.
    """
    for attempt in range(5):
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '30s'")
                await conn.execute(
                    "LOCK TABLE "
                    + ", ".join(f"public.{t}" for t in TABLES)
                    + " IN ACCESS EXCLUSIVE MODE"
                )
                await conn.execute(f"DROP SCHEMA IF EXISTS {OLD} CASCADE")
                await conn.execute(f"CREATE SCHEMA {OLD}")
                for table in reversed(TABLES):
                    await conn.execute(f"ALTER TABLE public.{table} SET SCHEMA {OLD}")
                for table in TABLES:
                    await conn.execute(f"ALTER TABLE {NEXT}.{table} SET SCHEMA public")
                await conn.execute(f"DROP SCHEMA {OLD} CASCADE")
                await conn.execute(f"DROP SCHEMA {NEXT}")
            return
        except (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError):
            if attempt == 4:
                raise
            await asyncio.sleep(1 + attempt)


async def rebuild(dsn: str) -> int:
    """Build, swap, catch up; the number of documents in the new read model."""
    conn = await asyncpg.connect(dsn)
    try:
        started = await database_now(conn)  # the clock the documents' write times are on
        await _create_shadow(conn)
        await conn.execute(f"SET search_path TO {NEXT}, public")
        tally = Tally()
        await _project_all(conn, tally)
        await conn.execute("SET search_path TO public")
        await _swap(conn)
        await _project_all(conn, Tally(), since=started - _OVERLAP)
        if tally.skipped:
            print(f"rebuild: {len(tally.skipped)} document(s) skipped", file=sys.stderr)
        return tally.projected
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m readmodel.rebuild")
    parser.add_argument("--dsn", default=os.environ.get("CUSTOMER_DATABASE_DSN", DEVELOPMENT_DSN))
    args = parser.parse_args()
    count = asyncio.run(rebuild(args.dsn))
    print(f"rebuild: {count} customers projected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
