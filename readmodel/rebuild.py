"""``python -m readmodel.rebuild``: recreate the read model from the state store.

The customer documents in the Dapr state store are the truth. The postgres
state store keeps them in ``dapr_state`` (keys ``customer-service||customer:<id>``)
in the same database, so they are read from there directly: the state API has
no way to list keys. Every row of the read model is dropped, then every
document is projected again (segment memberships included), in batches.
Events that arrive meanwhile are safe: the higher version wins either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

import asyncpg

from domain.model import Customer
from readmodel.migrate import DEVELOPMENT_DSN
from readmodel.projection import active_segments, apply_snapshot

DOCUMENT_KEYS = "customer-service||customer:%"
BATCH = 500


async def rebuild(dsn: str, table: str = "dapr_state") -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE customers CASCADE")
        segments = await active_segments(conn)
        projected = 0
        after = ""
        while True:
            rows = await conn.fetch(
                f"SELECT key, convert_from(value, 'UTF8') AS doc FROM {table} "  # noqa: S608
                "WHERE key LIKE $1 AND key > $2 ORDER BY key LIMIT $3",
                DOCUMENT_KEYS,
                after,
                BATCH,
            )
            if not rows:
                return projected
            async with conn.transaction():
                for row in rows:
                    snapshot = Customer.from_document(json.loads(row["doc"])).snapshot()
                    if await apply_snapshot(conn, snapshot, segments) is not None:
                        projected += 1
            after = rows[-1]["key"]
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
