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
from datetime import datetime
from typing import Any

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


async def next_batch(
    conn: Connection, after_key: str, limit: int, written_before: datetime
) -> Batch:
    documents, next_key = await documents_after(conn, after_key, limit, written_before)
    if not documents:
        return Batch([], 0, next_key)
    # The read model keys customers by uuid; nothing else could be projected.
    documents = [stored for stored in documents if _is_uuid(stored.customer_id)]
    rows = await conn.fetch(
        "SELECT id::text AS id, version FROM customers WHERE id = ANY($1::uuid[])",
        [stored.customer_id for stored in documents],
    )
    projected = {row["id"]: row["version"] for row in rows}
    drifts, unreadable = [], []
    for stored in documents:
        try:
            drift = _drift(stored, projected.get(stored.customer_id))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            unreadable.append(Unreadable(stored.customer_id, f"{type(exc).__name__}: {exc}"))
            continue
        if drift is not None:
            drifts.append(drift)
    return Batch(drifts, len(documents), next_key, unreadable)


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
