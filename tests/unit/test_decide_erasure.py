"""Erasure decisions: asked for, cancelled, due; the tombstone keeps nothing personal."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.commands import (
    AddAddress,
    CancelErasure,
    DeleteCustomer,
    EraseIfDue,
    RecordOrder,
    RequestErasure,
    RestoreCustomer,
    UpdateCustomer,
    UpdatePreferences,
)
from domain.decide import decide
from domain.erasure import erasure_due
from domain.errors import (
    CustomerErased,
    ErasureDue,
    ErasureNotPending,
    InvalidFields,
    Refusal,
    SessionEnded,
    WrongPassword,
)
from domain.events import CUSTOMER_ERASED, ERASURE_CANCELLED, ERASURE_REQUESTED
from domain.model import Customer
from domain.sessions import Access
from domain.unique_keys import unique_keys
from tests.unit.builders import NOW, POLICY, US_ADDRESS, Clock, apply, new_customer

GRACE = POLICY.erasure_grace
OWN = Access(epoch=0)


def rich() -> Customer:
    clock = Clock()
    customer = new_customer(legacy_id="L-9")
    customer = apply(customer, AddAddress("a1", US_ADDRESS), clock)
    customer = apply(customer, UpdatePreferences({"newsletter": True}), clock)
    return apply(customer, RecordOrder("o-1", Decimal("10.00"), NOW), clock)


def test_an_admin_asks_and_the_erasure_is_due_after_the_grace() -> None:
    customer = rich()
    pending, event = decide(customer, RequestErasure(), NOW, POLICY)
    assert event is not None
    assert event.type == ERASURE_REQUESTED
    assert event.snapshot is None  # nothing public changed
    assert event.extra["scheduled_for"].startswith((NOW + GRACE).date().isoformat())
    assert erasure_due(pending, POLICY) == NOW + GRACE
    # Before the deadline a reminder (stale or forged) does nothing.
    same, nothing = decide(pending, EraseIfDue(), NOW + GRACE - timedelta(seconds=1), POLICY)
    assert (same, nothing) == (pending, None)
    # Asked again: the earlier deadline stands, nothing commits.
    assert decide(pending, RequestErasure(), NOW + timedelta(days=1), POLICY)[1] is None


def test_the_customer_needs_its_password_and_may_not_erase_at_once() -> None:
    customer = rich()
    with pytest.raises(WrongPassword):
        decide(customer, RequestErasure(access=OWN), NOW, POLICY)
    with pytest.raises(InvalidFields):
        decide(customer, RequestErasure(immediate=True, password_ok=True, access=OWN), NOW, POLICY)
    pending, event = decide(customer, RequestErasure(password_ok=True, access=OWN), NOW, POLICY)
    assert event is not None
    assert pending.erasure is not None
    assert pending.erasure.by == "customer"


def test_a_cancelled_erasure_never_fires() -> None:
    pending, _ = decide(rich(), RequestErasure(), NOW, POLICY)
    cancelled, event = decide(pending, CancelErasure(), NOW, POLICY)
    assert event is not None
    assert event.type == ERASURE_CANCELLED
    assert erasure_due(cancelled, POLICY) is None
    assert decide(cancelled, EraseIfDue(), NOW + 2 * GRACE, POLICY)[1] is None
    with pytest.raises(ErasureNotPending):
        decide(cancelled, CancelErasure(), NOW, POLICY)


def test_when_due_only_a_tombstone_is_left() -> None:
    customer = rich()
    pending, _ = decide(customer, RequestErasure(immediate=True), NOW, POLICY)
    erased, event = decide(pending, EraseIfDue(), NOW, POLICY)
    assert event is not None
    assert event.type == CUSTOMER_ERASED
    assert event.changes == {}
    document = erased.to_document()
    assert document == {
        "id": customer.id,
        "version": pending.version + 1,
        "erased_at": document["erased_at"],
        "updated_at": document["erased_at"],
        "orders": {
            "total_orders": 1,
            "total_spent": "10.00",
            "last_order_at": document["orders"]["last_order_at"],
        },
    }
    assert event.snapshot == document
    text = json.dumps(event.to_data()) + json.dumps(document)
    for personal in (customer.email, "John", "Doe", "+14155550123", "Main St", "L-9", "o-1"):
        assert personal not in text
    assert Customer.from_document(document) == erased
    # Its unique values are free, and no token of its sessions acts any more.
    assert unique_keys(erased) == frozenset()
    assert unique_keys(customer) != frozenset()
    with pytest.raises(SessionEnded):
        decide(erased, UpdateCustomer({"first_name": "X"}, access=OWN), NOW, POLICY)
    for command in (UpdateCustomer({"first_name": "X"}), RestoreCustomer(), EraseIfDue()):
        with pytest.raises(CustomerErased):
            decide(erased, command, NOW, POLICY)


def test_a_soft_deleted_customer_is_erased_after_the_retention_unless_restored() -> None:
    deleted, _ = decide(rich(), DeleteCustomer(), NOW, POLICY)
    retention = POLICY.deleted_retention
    assert erasure_due(deleted, POLICY) == NOW + retention
    assert decide(deleted, EraseIfDue(), NOW + retention - timedelta(seconds=1), POLICY)[1] is None
    restored, _ = decide(deleted, RestoreCustomer(), NOW + timedelta(days=1), POLICY)
    assert erasure_due(restored, POLICY) is None
    _, event = decide(deleted, EraseIfDue(), NOW + retention, POLICY)
    assert event is not None
    assert event.type == CUSTOMER_ERASED
    # An erasure asked for sooner than the retention's end comes first.
    asked, _ = decide(deleted, RequestErasure(), NOW, POLICY)
    assert erasure_due(asked, POLICY) == NOW + min(GRACE, retention)


def test_an_erasure_that_is_due_can_no_longer_be_cancelled() -> None:
    pending, _ = decide(rich(), RequestErasure(), NOW, POLICY)
    # Its reminder has not fired yet: still, it is too late to undo.
    for late in (NOW + GRACE, NOW + GRACE + timedelta(days=3)):
        with pytest.raises(ErasureDue) as refused:
            decide(pending, CancelErasure(), late, POLICY)
        assert refused.value.code is Refusal.ERASURE_DUE
    # Up to the deadline it may be.
    _, event = decide(pending, CancelErasure(), NOW + GRACE - timedelta(seconds=1), POLICY)
    assert event is not None
    assert event.type == ERASURE_CANCELLED


def test_a_restore_is_refused_at_the_end_of_the_retention_or_of_an_erasure_asked_for() -> None:
    deleted, _ = decide(rich(), DeleteCustomer(), NOW, POLICY)
    retention = POLICY.deleted_retention
    with pytest.raises(ErasureDue):
        decide(deleted, RestoreCustomer(), NOW + retention, POLICY)
    restored, event = decide(deleted, RestoreCustomer(), NOW + retention - timedelta(1), POLICY)
    assert event is not None
    assert restored.deleted_at is None
    # An erasure asked for while deleted, past due, is not undone by a restore either.
    asked, _ = decide(deleted, RequestErasure(), NOW, POLICY)
    with pytest.raises(ErasureDue):
        decide(asked, RestoreCustomer(), NOW + GRACE, POLICY)
    with pytest.raises(ErasureDue):
        decide(asked, CancelErasure(), NOW + GRACE, POLICY)
