"""decide_create: the first version of a customer and its event."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.commands import CreateCustomer
from domain.decide import decide_create
from domain.errors import CustomerAlreadyExists
from domain.model import Customer, CustomerStatus, CustomerType, Gender

NOW = datetime(2026, 1, 22, 10, 30, 15, tzinfo=UTC)


def command(**overrides: object) -> CreateCustomer:
    fields: dict[str, object] = {
        "customer_id": "0b6f3c1e-1111-4c6e-9a55-000000000001",
        "email": "Customer@Example.com",
        "first_name": "John",
        "last_name": "Doe",
        "phone": "+14155550123",
        "date_of_birth": date(1990, 1, 1),
        "gender": Gender.MALE,
        "registration_source": "WEBSITE",
        **overrides,
    }
    return CreateCustomer(**fields)  # type: ignore[arg-type]


def test_create_starts_at_version_1_with_the_given_fields() -> None:
    customer, _ = decide_create(None, command(), NOW)

    assert customer.version == 1
    assert customer.id == "0b6f3c1e-1111-4c6e-9a55-000000000001"
    assert customer.email == "Customer@Example.com"  # stored as given
    assert customer.customer_type is CustomerType.INDIVIDUAL
    assert customer.status is CustomerStatus.ACTIVE
    assert customer.email_verified is False
    assert customer.created_at == customer.updated_at == NOW
    assert customer.deleted_at is None


def test_create_emits_customer_created_with_a_full_snapshot() -> None:
    customer, event = decide_create(None, command(), NOW)

    assert event.type == "customer.created"
    assert event.customer_id == customer.id
    assert event.version == 1
    assert event.snapshot == customer.to_document()
    data = event.to_data()
    assert set(data) == {"customer_id", "version", "occurred_at", "changes", "snapshot"}
    assert data["occurred_at"] == "2026-01-22T10:30:15Z"


def test_create_changes_list_each_set_field_from_nothing() -> None:
    _, event = decide_create(None, command(), NOW)

    assert event.changes["email"] == {"before": None, "after": "Customer@Example.com"}
    assert event.changes["date_of_birth"] == {"before": None, "after": "1990-01-01"}
    # Unset fields and bookkeeping are not changes.
    assert "customer_group_id" not in event.changes
    assert not {"id", "version", "created_at", "updated_at"} & set(event.changes)


def test_create_refuses_an_existing_customer() -> None:
    existing, _ = decide_create(None, command(), NOW)

    with pytest.raises(CustomerAlreadyExists) as refused:
        decide_create(existing, command(email="other@example.com"), NOW)

    assert refused.value.code == "already_exists"


def test_the_document_round_trips() -> None:
    customer, _ = decide_create(None, command(metadata={"tier": "gold"}), NOW)

    assert Customer.from_document(customer.to_document()) == customer


def test_the_command_round_trips_through_an_actor_payload() -> None:
    original = command(customer_group_id="wholesale", metadata={"a": [1, 2]})

    assert CreateCustomer.from_payload(original.to_payload()) == original
