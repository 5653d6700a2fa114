"""``python -m readmodel.generate --count 1000000``: synthetic customers for benchmarks.

They are written straight into the read model with COPY (a million takes about
a minute here), not through the actors: list and search read only the read
model. They carry ``registration_source = 'synthetic'``; a rebuild from the
state store removes them, as it should.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from readmodel.migrate import DEVELOPMENT_DSN

FIRST = [
    "Anna",
    "José",
    "Zoë",
    "Mateo",
    "Chloé",
    "Liam",
    "Søren",
    "Amélie",
    "Noah",
    "Eva",
    "Björn",
    "Lucía",
    "Omar",
    "Mia",
    "Håkon",
    "Léa",
    "Ivan",
    "Nora",
    "Tomás",
    "Emma",
]
LAST = [
    "García",
    "Müller",
    "Smith",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Johansson",
    "Novák",
    "Silva",
    "Yilmaz",
    "Brown",
    "Fernández",
    "Schäfer",
    "Lefèvre",
]
STATUSES = ["ACTIVE"] * 8 + ["PENDING_VERIFICATION", "INACTIVE", "SUSPENDED"]
GROUPS = ["retail", "retail", "retail", "wholesale", "vip"]
COLUMNS = (
    "id",
    "version",
    "email",
    "email_normalized",
    "first_name",
    "last_name",
    "customer_type",
    "status",
    "email_verified",
    "registration_source",
    "metadata",
    "customer_group_id",
    "total_orders",
    "total_spent",
    "last_order_at",
    "created_at",
    "updated_at",
    "deleted_at",
)
BATCH = 50_000


def _rows(count: int, seed: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not a secret
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = int((datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds())
    rows: list[tuple[object, ...]] = []
    for _ in range(count):
        customer_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{customer_id.hex[:12]}@synthetic.example.com"
        created = start + timedelta(seconds=rng.randrange(span))
        orders = rng.choice([0, 0, 1, 2, 3, 5, 8, 13])
        rows.append(
            (
                customer_id,
                1,
                email,
                email,
                first,
                last,
                "BUSINESS" if rng.random() < 0.1 else "INDIVIDUAL",
                rng.choice(STATUSES),
                rng.random() < 0.7,
                "synthetic",
                json.dumps({}),
                rng.choice(GROUPS),
                orders,
                Decimal(orders * rng.randrange(10, 200)),
                created + timedelta(days=rng.randrange(30)) if orders else None,
                created,
                created,
                created + timedelta(days=1) if rng.random() < 0.02 else None,
            )
        )
    return rows


async def generate(dsn: str, count: int, seed: int) -> float:
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            await conn.copy_records_to_table(
                "customers", records=_rows(size, seed + done), columns=COLUMNS
            )
            done += size
            print(f"generate: {done:,}/{count:,}", file=sys.stderr, flush=True)
        await conn.execute("ANALYZE customers")
    finally:
        await conn.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m readmodel.generate")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dsn", default=os.environ.get("CUSTOMER_DATABASE_DSN", DEVELOPMENT_DSN))
    args = parser.parse_args()
    seconds = asyncio.run(generate(args.dsn, args.count, args.seed))
    print(f"generate: {args.count:,} customers in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
