"""Events: what happened to a customer, one per committed change.

The wire form is the CloudEvent ``data`` of the contract:
``{customer_id, version, occurred_at, changes: {field: {before, after}}, snapshot}``.
A consumer that keeps the highest ``version`` per customer is immune to the
duplicates and reordering of an at-least-once outbox.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from domain.model import timestamp

CUSTOMER_CREATED = "customer.created"

# Fields that change with every version and say nothing on their own.
_BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerEvent:
    type: str
    customer_id: str
    version: int
    occurred_at: datetime
    changes: dict[str, dict[str, Any]]
    snapshot: dict[str, Any]

    def to_data(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "version": self.version,
            "occurred_at": timestamp(self.occurred_at),
            "changes": self.changes,
            "snapshot": self.snapshot,
        }


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two documents, ignoring bookkeeping fields."""
    old = before or {}
    return {
        field: {"before": old.get(field), "after": value}
        for field, value in after.items()
        if field not in _BOOKKEEPING and old.get(field) != value
    }
