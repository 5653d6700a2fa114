"""``python -m readmodel.rekey_claims``: move email claims to the current normalization.

Emails used to be compared as ``strip().lower()``; they are now compared as
Unicode NFC of the case-folded text (domain.unique_keys.normalize_email), so
that NFC and NFD spellings of one address are one address. A claim is the
state entry ``claim:<kind>-<sha256 of the normalized value>``: for an ASCII
address both forms are equal and nothing moves; for the others the claim must
move to the new key, or the holder could not sign in by email and a second
spelling could register.

One pass, run once after deploying the new normalization (it is idempotent:
run it again after any interruption). For each live customer document in the
state store whose email normalizes differently now:

1. the claim under the new key is inserted for it (if the new key is already
   claimed by another customer, two live accounts now share one address: it is
   reported and left for an operator to resolve; nothing is taken away);
2. its claim under the old key is deleted (only if it still names it);
3. its read-model row gets the new ``email_normalized``.

Like ``readmodel.rebuild``, it reads and writes the postgres state store's
table directly (``dapr_state``, keys ``<app id>||<key>``): the state API cannot
list keys. Why a command and not a lazy re-key at first contact: a lazy one
would have to check the old key on every claim and every sign-in forever
(or a second spelling registers meanwhile); this closes the gap in one pass.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import sys
from datetime import UTC, datetime

import asyncpg

from domain.claims import Claim
from domain.unique_keys import EMAIL, email_key, normalize_email
from readmodel.migrate import DEVELOPMENT_DSN

APP_ID = "customer-service"
BATCH = 500


def legacy_email_key(email: str) -> str:
    """The key an email was claimed under before NFC and case folding."""
    return f"{EMAIL}-{hashlib.sha256(email.strip().lower().encode()).hexdigest()}"


@dataclasses.dataclass
class Report:
    examined: int = 0
    rekeyed: int = 0
    collisions: list[str] = dataclasses.field(default_factory=list)
    rows_updated: int = 0


async def rekey_claims(
    dsn: str, table: str = "dapr_state", app_id: str = APP_ID, dry_run: bool = False
) -> Report:
    report = Report()
    conn = await asyncpg.connect(dsn)
    try:
        after = ""
        while True:
            rows = await conn.fetch(
                f"SELECT key, convert_from(value, 'UTF8') AS doc FROM {table} "  # noqa: S608
                "WHERE key LIKE $1 AND key > $2 ORDER BY key LIMIT $3",
                f"{app_id}||customer:%",
                after,
                BATCH,
            )
            if not rows:
                return report
            for row in rows:
                report.examined += 1
                document = json.loads(row["doc"])
                await _rekey_one(conn, document, table, app_id, dry_run, report)
            after = rows[-1]["key"]
    finally:
        await conn.close()


async def _rekey_one(
    conn: asyncpg.Connection,
    document: dict[str, object],
    table: str,
    app_id: str,
    dry_run: bool,
    report: Report,
) -> None:
    if document.get("deleted_at") or document.get("erased_at"):
        return  # a deleted customer holds no key, an erased one has no email
    customer_id, email = str(document["id"]), str(document["email"])
    old, new = legacy_email_key(email), email_key(email)
    normalized = normalize_email(email)
    if old != new:
        if dry_run:
            report.rekeyed += 1
        else:
            async with conn.transaction():
                holder = await _claim(conn, table, f"{app_id}||claim:{new}", customer_id)
                if holder != customer_id:
                    report.collisions.append(customer_id)
                    return
                await conn.execute(
                    f"DELETE FROM {table} WHERE key = $1 "  # noqa: S608
                    "AND convert_from(value, 'UTF8')::jsonb ->> 'customer_id' = $2",
                    f"{app_id}||claim:{old}",
                    customer_id,
                )
            report.rekeyed += 1
    # The read model stored the old form too; only where the forms differ can it be stale.
    if not dry_run and normalized != email.strip().lower():
        status = await conn.execute(
            "UPDATE customers SET email_normalized = $2 WHERE id = $1 AND email_normalized <> $2",
            customer_id,
            normalized,
        )
        report.rows_updated += int(status.split()[-1])


async def _claim(conn: asyncpg.Connection, table: str, key: str, customer_id: str) -> str:
    """Claim ``key`` for ``customer_id`` unless claimed; return who holds it."""
    claim = Claim(customer_id, datetime.now(UTC)).to_document()
    await conn.execute(
        f"INSERT INTO {table} (key, value) VALUES ($1, $2) "  # noqa: S608
        "ON CONFLICT (key) DO NOTHING",
        key,
        json.dumps(claim, separators=(",", ":")).encode(),
    )
    holder = await conn.fetchval(
        f"SELECT convert_from(value, 'UTF8')::jsonb ->> 'customer_id' FROM {table} "  # noqa: S608
        "WHERE key = $1",
        key,
    )
    return str(holder)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m readmodel.rekey_claims")
    parser.add_argument("--dsn", default=os.environ.get("CUSTOMER_DATABASE_DSN", DEVELOPMENT_DSN))
    parser.add_argument("--app-id", default=APP_ID)
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args()
    report = asyncio.run(rekey_claims(args.dsn, app_id=args.app_id, dry_run=args.dry_run))
    verb = "would re-key" if args.dry_run else "re-keyed"
    print(
        f"rekey_claims: {report.examined} customers examined, {verb} {report.rekeyed} "
        f"email claims, {report.rows_updated} read-model rows updated"
    )
    for customer_id in report.collisions:
        print(
            f"rekey_claims: customer {customer_id}: its email is claimed by another live customer"
        )
    return 1 if report.collisions else 0


if __name__ == "__main__":
    sys.exit(main())
