"""What every decision shares: preconditions, the next version, its event."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from domain.errors import CustomerDeleted, CustomerErased, CustomerNotFound, VersionMismatch
from domain.events import WITHOUT_SNAPSHOT, CustomerEvent, diff
from domain.model import Customer
from domain.sessions import secured

# A decision's outcome: the new state and its event, or the state unchanged
# and no event when there is nothing to commit (a no-op or an idempotent replay).
Decision = tuple[Customer, CustomerEvent | None]


def require_customer(state: Customer | None) -> Customer:
    if state is None:
        raise CustomerNotFound("customer does not exist")
    if state.erased:
        raise CustomerErased("customer was erased")
    return state


def require_live(state: Customer | None, if_match: tuple[int, ...] | None) -> Customer:
    customer = require_customer(state)
    check_if_match(customer, if_match)
    if customer.deleted:
        raise CustomerDeleted("customer is deleted; restore it first")
    return customer


def check_if_match(customer: Customer, if_match: tuple[int, ...] | None) -> None:
    if if_match is not None and customer.version not in if_match:
        raise VersionMismatch(
            f"customer is at version {customer.version}, not " + ", ".join(str(v) for v in if_match)
        )


def advance(customer: Customer, now: datetime, **changes: Any) -> Customer:
    """The next version of ``customer`` with ``changes`` applied."""
    return dataclasses.replace(customer, **changes, updated_at=now, version=customer.version + 1)


def changed(
    event_type: str,
    before: Customer | None,
    after: Customer,
    now: datetime,
    **extra: Any,
) -> Decision:
    """The decision that commits ``after`` with its event. A change that ends
    every session (domain/sessions.py) also moves the session epoch on, and its
    event says so. The event carries the snapshot unless its type is one that
    changes none of it (``WITHOUT_SNAPSHOT``) and nothing of it changed."""
    after, security = secured(before, after)
    snapshot = after.snapshot()
    changes = diff(before.snapshot() if before else None, snapshot)
    # A type that never changes the snapshot still carries it if it ever did:
    # a consumer keeping the highest version's snapshot must not miss a change.
    keep = bool(changes) or before is None or event_type not in WITHOUT_SNAPSHOT
    event = CustomerEvent(
        type=event_type,
        customer_id=after.id,
        version=after.version,
        occurred_at=now,
        changes=changes,
        snapshot=snapshot if keep else None,
        extra={**extra, **security},
    )
    return after, event
