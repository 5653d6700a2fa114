"""A read of one customer, answered from its stored document alone.

The Customer actor answers a read from the document it loads; the API answers
the same reads from the same committed document read straight from the state
store (service/stored_reads.py), without taking the actor's turn. Both answer
through these functions, so a read refuses alike wherever it is answered: a
customer's session that ended or an account that may no longer sign in, a
customer that does not exist, a deleted one (unless asked for).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from actors.customer_protocol import (
    GET,
    GET_ADDRESSES,
    GET_PREFERENCES,
    AddressesShown,
    CustomerShown,
    PreferencesShown,
    Read,
    ReadCustomer,
)
from actors.protocol import ActorMethod, Document, Refused
from domain.errors import DomainError, Refusal
from domain.model import Customer
from domain.sessions import Access, check_access

Q = TypeVar("Q")
R = TypeVar("R")
Refusing = Refused[Refusal]


def visible(
    customer_id: str, customer: Customer | None, include_deleted: bool, access: Access | None
) -> Customer | Refusing:
    """The customer, if the caller may see it (``access``: a customer's own session)."""
    if access is not None:
        try:
            check_access(customer, access)
        except DomainError as exc:
            return Refused(exc.code, exc.detail)
    if customer is None:
        return Refused(Refusal.NOT_FOUND, f"customer {customer_id} does not exist")
    if customer.erased:
        return Refused(Refusal.ERASED, f"customer {customer_id} was erased")
    if customer.deleted and not include_deleted:
        return Refused(Refusal.DELETED, f"customer {customer_id} is deleted")
    return customer


def show_customer(
    customer_id: str, customer: Customer | None, query: ReadCustomer
) -> CustomerShown | Refusing:
    seen = visible(customer_id, customer, query.include_deleted, query.access)
    if isinstance(seen, Refused):
        return seen
    return CustomerShown(customer=seen.profile())


def show_addresses(
    customer_id: str, customer: Customer | None, query: Read
) -> AddressesShown | Refusing:
    seen = visible(customer_id, customer, False, query.access)
    if isinstance(seen, Refused):
        return seen
    return AddressesShown(addresses=addresses_of(seen), version=seen.version)


def show_preferences(
    customer_id: str, customer: Customer | None, query: Read
) -> PreferencesShown | Refusing:
    seen = visible(customer_id, customer, False, query.access)
    if isinstance(seen, Refused):
        return seen
    preferences = seen.current_preferences().to_document()
    return PreferencesShown(preferences=preferences, version=seen.version)


def addresses_of(customer: Customer) -> tuple[Document, ...]:
    return tuple(customer.address_view(address) for address in customer.addresses)


_READS: dict[str, Callable[[str, Customer | None, Any], object]] = {
    GET.name: show_customer,
    GET_ADDRESSES.name: show_addresses,
    GET_PREFERENCES.name: show_preferences,
}


def is_read(method: ActorMethod[Any, Any]) -> bool:
    """Is ``method`` a read that any stored copy of the document can answer?"""
    return method.name in _READS


def answer(
    method: ActorMethod[Q, R], customer_id: str, customer: Customer | None, request: Q
) -> R | Refusing:
    """The reply ``method`` gives for this document (a read's only)."""
    show = _READS.get(method.name)
    if show is None:
        raise ValueError(f"{method.name} is not a read")
    return cast("R | Refusing", show(customer_id, customer, request))
