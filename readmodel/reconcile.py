"""Anti-entropy: find customers whose committed version never reached the read model.

The outbox is at-least-once, but a fault can still leave an event behind (a
sidecar that died between commit and publish, a poison delivery). A sweep
walks the stored documents in key order, a batch at a time, and compares each
document's version with its read-model row. A document written moments ago is
left alone: its event is probably on its way.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from domain.erasure import document_erasure_due
from domain.model import Customer
from readmodel.projection import Connection
from readmodel.state_table import StoredDocument, documents_after


@dataclasses.dataclass(frozen=True, slots=True)
class Drift:
    customer_id: str
    stored_version: int
    projected_version: int | None  # None: no row at all
    snapshot: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored document the read model can never show: reported, then passed over."""

    customer_id: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    drifts: list[Drift]
    checked: int
    next_key: str | None  # None: the sweep is complete
    unreadable: list[Unreadable] = dataclasses.field(default_factory=list)
    # Customers whose erasure is due (a reminder that never fired, or a soft
    # delete older than the retention that has none), or upcoming if asked.
    due: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Erasures:
    """What the sweep needs to find due erasures: the retention and the time now;
    ``upcoming``: also every erasure not due yet (to set their reminders again)."""

    retention: timedelta
    now: datetime
    upcoming: bool = False


async def next_batch(
    conn: Connection,
    after_key: str,
    limit: int,
    written_before: datetime,
    erasures: Erasures | None = None,
) -> Batch:
    documents, next_key = await documents_after(conn, after_key, limit, written_before)
    if not documents:
        return Batch([], 0, next_key)
    # The read model keys customers by uuid; nothing else could be projected.
    documents = [stored for stored in documents if _is_uuid(stored.customer_id)]
    # An erased customer's row is its tombstone.
    rows = await conn.fetch(
        "SELECT id::text AS id, version FROM customers WHERE id = ANY($1::uuid[]) "
        "UNION ALL SELECT id::text, version FROM erased_customers WHERE id = ANY($1::uuid[])",
        [stored.customer_id for stored in documents],
    )
    projected = {row["id"]: row["version"] for row in rows}
    drifts, unreadable, due = [], [], []
    for stored in documents:
        try:
            drift = _drift(stored, projected.get(stored.customer_id))
            if erasures is not None and stored.document is not None:
                moment = document_erasure_due(stored.document, erasures.retention)
                if moment is not None and (erasures.upcoming or moment <= erasures.now):
                    due.append(stored.customer_id)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            unreadable.append(Unreadable(stored.customer_id, f"{type(exc).__name__}: {exc}"))
            continue
        if drift is not None:
            drifts.append(drift)
    return Batch(drifts, len(documents), next_key, unreadable, due)


def _drift(stored: StoredDocument, seen: int | None) -> Drift | None:
    if stored.document is None:
        raise ValueError(stored.unreadable or "unreadable")
    version = int(stored.document["version"])
    if seen is not None and seen >= version:
        return None
    snapshot = Customer.from_document(stored.document).snapshot()
    return Drift(stored.customer_id, version, seen, snapshot)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
