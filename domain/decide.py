"""Decisions: ``decide_*(state, command, now) -> (new_state, event)``, pure."""

from __future__ import annotations

from datetime import datetime

from domain.commands import CreateCustomer
from domain.errors import CustomerAlreadyExists
from domain.events import CUSTOMER_CREATED, CustomerEvent, diff
from domain.model import Customer


def decide_create(
    state: Customer | None, command: CreateCustomer, now: datetime
) -> tuple[Customer, CustomerEvent]:
    if state is not None:
        raise CustomerAlreadyExists(f"customer {command.customer_id} already exists")
    customer = Customer(
        id=command.customer_id,
        email=command.email,
        first_name=command.first_name,
        last_name=command.last_name,
        phone=command.phone,
        date_of_birth=command.date_of_birth,
        gender=command.gender,
        customer_type=command.customer_type,
        status=command.status,
        email_verified=False,
        registration_source=command.registration_source,
        metadata=dict(command.metadata),
        customer_group_id=command.customer_group_id,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        version=1,
    )
    snapshot = customer.to_document()
    event = CustomerEvent(
        type=CUSTOMER_CREATED,
        customer_id=customer.id,
        version=customer.version,
        occurred_at=now,
        changes=diff(None, snapshot),
        snapshot=snapshot,
    )
    return customer, event
