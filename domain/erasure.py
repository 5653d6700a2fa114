"""Erasure: the customer's personal data goes for good, after a grace period.

An erasure asked for (by the customer with its password, or by an admin) is
due after ``Policy.erasure_grace`` (an admin may ask for it at once) and can be
cancelled until then. A soft-deleted customer is due for erasure
``Policy.deleted_retention`` after its deletion (restoring it before cancels
that). When it is due, the document becomes a tombstone: the id, the version
and time of the erasure and anonymous order counts (``Customer.tombstone``);
its unique values are released and its sessions end (actors/customer_shell.py).
The erasure's event carries the tombstone as its snapshot and no ``changes``:
the values that went are not repeated there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.commands import CancelErasure, EraseIfDue, RequestErasure
from domain.errors import ErasureDue, ErasureNotPending, FieldError, InvalidFields, WrongPassword
from domain.events import CUSTOMER_ERASED, ERASURE_CANCELLED, ERASURE_REQUESTED, CustomerEvent
from domain.model import Customer, ErasureRequest, timestamp
from domain.policy import Policy
from domain.transitions import Decision, advance, changed, require_customer


def erasure_due(customer: Customer | None, policy: Policy) -> datetime | None:
    """When ``customer`` is to be erased, if it is: an erasure asked for, or the
    end of a soft-deleted customer's retention, whichever comes first."""
    if customer is None or customer.erased:
        return None
    asked = customer.erasure.due_at if customer.erasure else None
    return _first(asked, customer.deleted_at, policy.deleted_retention)


def document_erasure_due(document: dict[str, Any], retention: timedelta) -> datetime | None:
    """``erasure_due`` of a stored document, read without the whole aggregate
    (the worker's sweep looks at every document)."""
    if document.get("erased_at"):
        return None
    asked = ((document.get("internal") or {}).get("erasure") or {}).get("due_at")
    deleted_at = document.get("deleted_at")
    return _first(
        datetime.fromisoformat(asked) if asked else None,
        datetime.fromisoformat(deleted_at) if deleted_at else None,
        retention,
    )


def _first(
    asked: datetime | None, deleted_at: datetime | None, retention: timedelta
) -> datetime | None:
    kept_until = None if deleted_at is None else deleted_at + retention
    moments = [moment for moment in (asked, kept_until) if moment is not None]
    return min(moments, default=None)


def refuse_if_due(customer: Customer, now: datetime, policy: Policy) -> None:
    """Once an erasure is due, neither a cancel nor a restore may undo it, even
    before its reminder (or the sweep) has carried it out."""
    due = erasure_due(customer, policy)
    if due is not None and due <= now:
        raise ErasureDue("the erasure is due and can no longer be undone")


def decide_request_erasure(
    state: Customer | None, command: RequestErasure, now: datetime, policy: Policy
) -> Decision:
    customer = require_customer(state)  # a soft-deleted one too: an admin may ask
    by_customer = command.access is not None
    if by_customer and command.immediate:
        immediate = FieldError("immediate", "only an admin may erase at once", "forbidden")
        raise InvalidFields([immediate])
    if by_customer and not command.password_ok:
        raise WrongPassword("the password is wrong")
    due = now if command.immediate else now + policy.erasure_grace
    pending = customer.erasure
    if pending is not None and pending.due_at <= due:
        return customer, None  # asked again: the earlier deadline stands
    request = ErasureRequest(due, now, "customer" if by_customer else "admin")
    after = advance(customer, now, erasure=request)
    return changed(ERASURE_REQUESTED, customer, after, now, scheduled_for=timestamp(due))


def decide_cancel_erasure(
    state: Customer | None, command: CancelErasure, now: datetime, policy: Policy
) -> Decision:
    customer = require_customer(state)
    if customer.erasure is None:
        raise ErasureNotPending("no erasure is pending")
    refuse_if_due(customer, now, policy)
    after = advance(customer, now, erasure=None)
    return changed(ERASURE_CANCELLED, customer, after, now)


def decide_erase_if_due(
    state: Customer | None, command: EraseIfDue, now: datetime, policy: Policy
) -> Decision:
    customer = require_customer(state)
    due = erasure_due(customer, policy)
    if due is None or due > now:
        return customer, None  # cancelled, restored, or not yet: nothing to do
    after = Customer.tombstone(customer.id, customer.version + 1, now, customer.orders)
    event = CustomerEvent(
        type=CUSTOMER_ERASED,
        customer_id=customer.id,
        version=after.version,
        occurred_at=now,
        changes={},
        snapshot=after.snapshot(),
        extra={"erased_at": timestamp(now), "sessions_ended": True},
    )
    return after, event
