"""Customers and commands for the domain's unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.commands import AddAddress, Command, CreateCustomer
from domain.decide import decide
from domain.events import CustomerEvent
from domain.model import Customer, Gender
from domain.policy import Policy

NOW = datetime(2026, 1, 22, 10, 30, 15, tzinfo=UTC)
CUSTOMER_ID = "0b6f3c1e-1111-4c6e-9a55-000000000001"
POLICY = Policy(customer_groups=frozenset({"retail", "wholesale"}), default_customer_group="retail")

US_ADDRESS: dict[str, Any] = {
    "type": "SHIPPING",
    "first_name": "John",
    "last_name": "Doe",
    "address_line_1": "123 Main St",
    "city": "New York",
    "state_province": "NY",
    "postal_code": "10001",
    "country_code": "US",
}


def create_command(**overrides: Any) -> CreateCustomer:
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER_ID,
        "email": "Customer@Example.com",
        "first_name": "John",
        "last_name": "Doe",
        "phone": "+14155550123",
        "date_of_birth": date(1990, 1, 1),
        "gender": Gender.MALE,
        "registration_source": "WEBSITE",
        **overrides,
    }
    return CreateCustomer(**fields)


def new_customer(**overrides: Any) -> Customer:
    customer, _ = decide(None, create_command(**overrides), NOW, POLICY)
    return customer


class Clock:
    """A time that moves one second per step, so every version has its own."""

    def __init__(self) -> None:
        self.now = NOW

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def apply(customer: Customer, command: Command, clock: Clock | None = None) -> Customer:
    """Decide and return the new state, failing if nothing was committed."""
    after, event = decide(customer, command, (clock or Clock()).tick(), POLICY)
    assert event is not None
    return after


def decided(
    customer: Customer | None, command: Command, now: datetime | None = None
) -> tuple[Customer, CustomerEvent]:
    after, event = decide(customer, command, now or NOW + timedelta(seconds=1), POLICY)
    assert event is not None, "the command changed nothing"
    return after, event


def add_address(
    customer: Customer, address_id: str, clock: Clock | None = None, **overrides: Any
) -> Customer:
    is_default = bool(overrides.pop("is_default", False))
    fields = {**US_ADDRESS, **overrides}
    return apply(customer, AddAddress(address_id, fields, is_default=is_default), clock)
