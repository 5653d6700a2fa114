"""Decisions on addresses, and the default invariant they all keep:

whenever a customer has an address that serves a kind (shipping, billing),
exactly one of those addresses is that kind's default. Every decision ends by
``_settle_defaults``, so no command (a delete of the default included, the
seed's P1 bug) can leave a kind without its default.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from domain import fields
from domain.address_format import normalize_address
from domain.commands import (
    AddAddress,
    RemoveAddress,
    SetDefaultAddress,
    UpdateAddress,
    request_fingerprint,
)
from domain.errors import (
    AddressAlreadyExists,
    AddressNotFound,
    DefaultAddressRequired,
    FieldError,
    IdempotencyKeyReused,
    IdempotentResourceGone,
    InvalidFields,
    TooManyAddresses,
)
from domain.events import (
    ADDRESS_CREATED,
    ADDRESS_DEFAULT_CHANGED,
    ADDRESS_DELETED,
    ADDRESS_UPDATED,
)
from domain.model import ADDRESS_FIELDS, Address, AddressType, Customer, IdempotencyRecord
from domain.policy import Policy
from domain.transitions import Decision, advance, changed, check_if_match, require_live

IDEMPOTENCY_WINDOW = timedelta(hours=24)
IDEMPOTENCY_RECORDS_KEPT = 100


def _settle_defaults(
    addresses: tuple[Address, ...],
    current: dict[AddressType, str | None],
    preferred: dict[AddressType, str] | None = None,
) -> dict[str, str | None]:
    """The default of each kind: the preferred one, else the current one if it
    still serves the kind, else the oldest address that does, else none."""
    settled: dict[str, str | None] = {}
    for kind, field in (
        (AddressType.SHIPPING, "default_shipping_address_id"),
        (AddressType.BILLING, "default_billing_address_id"),
    ):
        serving = [a.id for a in addresses if a.type.serves(kind)]
        choice = (preferred or {}).get(kind) or current.get(kind)
        settled[field] = choice if choice in serving else (serving[0] if serving else None)
    return settled


def _current_defaults(customer: Customer) -> dict[AddressType, str | None]:
    return {
        AddressType.SHIPPING: customer.default_shipping_address_id,
        AddressType.BILLING: customer.default_billing_address_id,
    }


def _with_addresses(
    customer: Customer,
    now: datetime,
    addresses: tuple[Address, ...],
    preferred: dict[AddressType, str] | None = None,
    **changes: Any,
) -> Customer:
    """The next version with ``addresses``, each kind's default settled on them."""
    defaults = _settle_defaults(addresses, _current_defaults(customer), preferred)
    return advance(customer, now, addresses=addresses, **defaults, **changes)


def _live_address(
    state: Customer | None, command: UpdateAddress | RemoveAddress | SetDefaultAddress
) -> tuple[Customer, Address]:
    """The live customer, at a version ``If-Match`` accepts, and the address named."""
    customer = require_live(state, command.if_match)
    address = customer.address(command.address_id)
    if address is None:
        raise AddressNotFound(f"address {command.address_id} does not exist")
    return customer, address


def _valid_fields(sent: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(sent.keys() - ADDRESS_FIELDS)
    errors = [FieldError(name, "unknown field", "unknown") for name in unknown]
    normalized, rule_errors = normalize_address(sent)
    if errors or rule_errors:
        raise InvalidFields(errors + rule_errors)
    return normalized


def _recent_records(customer: Customer, now: datetime) -> tuple[IdempotencyRecord, ...]:
    kept = [r for r in customer.idempotency if now - r.at < IDEMPOTENCY_WINDOW]
    return tuple(kept[-IDEMPOTENCY_RECORDS_KEPT:])


def decide_add_address(
    state: Customer | None, command: AddAddress, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    fingerprint = request_fingerprint({"fields": command.fields, "is_default": command.is_default})
    records = _recent_records(customer, now)
    if command.idempotency_key is not None:
        used = next((r for r in records if r.key == command.idempotency_key), None)
        if used is not None:
            if used.fingerprint != fingerprint:
                raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
            if customer.address(used.address_id) is None:
                raise IdempotentResourceGone("the address this key created has been deleted")
            # A retry: the address it created is the answer, whatever version the
            # customer is at now (its If-Match named the version before that change).
            return customer, None
    check_if_match(customer, command.if_match)
    if customer.address(command.address_id) is not None:
        raise AddressAlreadyExists(f"address {command.address_id} already exists")
    if len(customer.addresses) >= policy.max_addresses:
        raise TooManyAddresses(f"a customer can have at most {policy.max_addresses} addresses")
    sent = fields.load(Address, _valid_fields(command.fields), ADDRESS_FIELDS)
    address = Address(
        id=command.address_id, is_verified=False, created_at=now, updated_at=now, **sent
    )
    addresses = (*customer.addresses, address)
    preferred = dict.fromkeys(address.type.kinds, address.id) if command.is_default else None
    if command.idempotency_key is not None:
        record = IdempotencyRecord(command.idempotency_key, fingerprint, address.id, now)
        records = (*records, record)
    after = _with_addresses(customer, now, addresses, preferred, idempotency=records)
    return changed(ADDRESS_CREATED, customer, after, now)


def decide_update_address(
    state: Customer | None, command: UpdateAddress, now: datetime, policy: Policy
) -> Decision:
    customer, address = _live_address(state, command)
    # The country's rules judge the address as a whole: the parts kept and those sent.
    current = fields.dump(address, ADDRESS_FIELDS)
    parts = _valid_fields({**current, **command.changes})
    updated = dataclasses.replace(address, **fields.typed(Address, parts))
    defaults = _current_defaults(customer)
    holds = [kind for kind in updated.type.kinds if defaults[kind] == address.id]
    if command.is_default is False and holds:
        raise DefaultAddressRequired(
            "this is a default address; make another address the default instead"
        )
    preferred = dict.fromkeys(updated.type.kinds, address.id) if command.is_default else None
    if updated != address:
        updated = dataclasses.replace(updated, updated_at=now)
    addresses = tuple(updated if a.id == address.id else a for a in customer.addresses)
    settled = _settle_defaults(addresses, defaults, preferred)
    if updated == address and settled == _settle_defaults(customer.addresses, defaults):
        return customer, None
    after = advance(customer, now, addresses=addresses, **settled)
    return changed(ADDRESS_UPDATED, customer, after, now)


def decide_remove_address(
    state: Customer | None, command: RemoveAddress, now: datetime, policy: Policy
) -> Decision:
    customer, _ = _live_address(state, command)
    addresses = tuple(a for a in customer.addresses if a.id != command.address_id)
    after = _with_addresses(customer, now, addresses)
    return changed(ADDRESS_DELETED, customer, after, now)


def decide_set_default_address(
    state: Customer | None, command: SetDefaultAddress, now: datetime, policy: Policy
) -> Decision:
    customer, address = _live_address(state, command)
    kinds = address.type.kinds if command.kind in (None, AddressType.BOTH) else (command.kind,)
    if not all(address.type.serves(kind) for kind in kinds):
        raise InvalidFields(
            [FieldError("type", f"this is a {address.type.value} address", "type_mismatch")]
        )
    defaults = _current_defaults(customer)
    settled = _settle_defaults(customer.addresses, defaults, dict.fromkeys(kinds, address.id))
    if settled == _settle_defaults(customer.addresses, defaults):
        return customer, None
    after = advance(customer, now, **settled)
    return changed(ADDRESS_DEFAULT_CHANGED, customer, after, now)
