"""Decisions on the profile: create, update, soft delete, restore."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from domain import fields
from domain.commands import CreateCustomer, DeleteCustomer, RestoreCustomer, UpdateCustomer
from domain.erasure import refuse_if_due
from domain.errors import (
    CustomerAlreadyExists,
    CustomerNotDeleted,
    FieldError,
    IdempotencyKeyReused,
    InvalidFields,
)
from domain.events import CUSTOMER_CREATED, CUSTOMER_DELETED, CUSTOMER_RESTORED, CUSTOMER_UPDATED
from domain.model import PROFILE_FIELDS, Customer, CustomerType, Preferences
from domain.policy import Policy
from domain.transitions import (
    Decision,
    advance,
    changed,
    check_if_match,
    require_customer,
    require_live,
)
from domain.unique_keys import normalize_email

# How a customer registered is history, not something to edit.
UPDATABLE_FIELDS = frozenset(PROFILE_FIELDS) - {"registration_source"}


def _group_errors(group: str | None, policy: Policy) -> list[FieldError]:
    if group is None or group in policy.customer_groups:
        return []
    known = ", ".join(sorted(policy.customer_groups)) or "none are configured"
    return [FieldError("customer_group_id", f"unknown customer group (known: {known})", "unknown")]


# What only a business has.
BUSINESS_FIELDS = ("company_name", "vat_id")


def _business_errors(customer: Customer) -> list[FieldError]:
    if customer.customer_type is CustomerType.BUSINESS:
        return []
    return [
        FieldError(
            name, "only a BUSINESS customer has one (send null to clear it)", "business_only"
        )
        for name in BUSINESS_FIELDS
        if getattr(customer, name) is not None
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileChange:
    """A PATCH of the profile: the fields sent, typed as ``Customer`` declares them."""

    values: dict[str, Any]

    @classmethod
    def of(cls, sent: dict[str, Any], policy: Policy, customer: Customer) -> ProfileChange:
        """The change ``sent`` asks of ``customer``, or every rule it breaks. A group
        is checked only when it changes: a customer left in a retired group may send
        it back unchanged (a PATCH of the whole profile), but none is moved into one."""
        errors = [
            FieldError(field, "cannot be changed", "read_only")
            for field in sorted(sent.keys() - UPDATABLE_FIELDS)
        ]
        group = sent.get("customer_group_id", customer.customer_group_id)
        if group != customer.customer_group_id:
            errors += _group_errors(group, policy)
        if errors:
            raise InvalidFields(errors)
        return cls(fields.typed(Customer, sent))

    def applied_to(self, customer: Customer) -> Customer:
        updated = dataclasses.replace(customer, **self.values)
        if errors := _business_errors(updated):
            raise InvalidFields(errors)
        return updated


def decide_create(
    state: Customer | None, command: CreateCustomer, now: datetime, policy: Policy
) -> Decision:
    if state is not None:
        if command.fingerprint is None:
            raise CustomerAlreadyExists(f"customer {command.customer_id} already exists")
        if command.fingerprint != state.create_fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
        return state, None  # a retry: the customer it created is the answer
    group = command.customer_group_id or policy.default_customer_group
    profile = {name: getattr(command, name) for name in PROFILE_FIELDS}
    customer = Customer(
        **{**profile, "metadata": dict(command.metadata), "customer_group_id": group},
        id=command.customer_id,
        email_verified=False,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        version=1,
        preferences=Preferences.initial(now),
        create_fingerprint=command.fingerprint,
    )
    if errors := _group_errors(group, policy) + _business_errors(customer):
        raise InvalidFields(errors)
    return changed(CUSTOMER_CREATED, None, customer, now)


def decide_update(
    state: Customer | None, command: UpdateCustomer, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, command.if_match)
    updated = ProfileChange.of(command.changes, policy, customer).applied_to(customer)
    if updated.profile() == customer.profile():
        return customer, None
    email_changed = normalize_email(updated.email) != normalize_email(customer.email)
    credentials = customer.credentials
    if email_changed:
        # A token sent to the old address must not verify the new one, and a
        # change to another address asked for before is void.
        credentials = dataclasses.replace(
            credentials, email_verification=None, password_reset=None, email_change=None
        )
    return changed(
        CUSTOMER_UPDATED,
        customer,
        advance(
            updated,
            now,
            # A new address has not been verified yet.
            email_verified=customer.email_verified and not email_changed,
            credentials=credentials,
        ),
        now,
    )


def decide_delete(
    state: Customer | None, command: DeleteCustomer, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, command.if_match)
    return changed(CUSTOMER_DELETED, customer, advance(customer, now, deleted_at=now), now)


def decide_restore(
    state: Customer | None, command: RestoreCustomer, now: datetime, policy: Policy
) -> Decision:
    customer = require_customer(state)
    check_if_match(customer, command.if_match)
    if not customer.deleted:
        raise CustomerNotDeleted("customer is not deleted")
    # At the end of the retention (or past an erasure asked for) it is too late.
    refuse_if_due(customer, now, policy)
    group = customer.customer_group_id
    if group is not None and group not in policy.customer_groups:
        # Its group was retired (or deleted) while it was away: it gets none of a
        # retired group's, and joins the default one, as a new customer would.
        group = policy.default_customer_group
    restored = advance(customer, now, deleted_at=None, customer_group_id=group)
    return changed(CUSTOMER_RESTORED, customer, restored, now)
