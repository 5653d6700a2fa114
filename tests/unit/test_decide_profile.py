"""Profile decisions: create, update, soft delete and restore."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from domain.commands import DeleteCustomer, RestoreCustomer, UpdateCustomer
from domain.decide import decide
from domain.errors import (
    CustomerAlreadyExists,
    CustomerDeleted,
    CustomerNotDeleted,
    CustomerNotFound,
    IdempotencyKeyReused,
    InvalidFields,
    VersionMismatch,
)
from domain.events import CUSTOMER_CREATED, CUSTOMER_DELETED, CUSTOMER_RESTORED, CUSTOMER_UPDATED
from domain.model import PREFERENCE_DEFAULTS, Customer, CustomerStatus, CustomerType
from tests.unit.builders import (
    CUSTOMER_ID,
    NOW,
    POLICY,
    create_command,
    decided,
    new_customer,
)


def test_create_starts_at_version_1_with_the_given_fields() -> None:
    customer, event = decided(None, create_command(), NOW)

    assert customer.version == 1
    assert customer.id == CUSTOMER_ID
    assert customer.email == "Customer@Example.com"  # stored as given
    assert customer.customer_type is CustomerType.INDIVIDUAL
    assert customer.status is CustomerStatus.ACTIVE
    assert customer.email_verified is False
    assert customer.created_at == customer.updated_at == NOW
    assert customer.deleted_at is None
    assert customer.addresses == ()
    assert customer.current_preferences().flags == PREFERENCE_DEFAULTS
    assert event.type == CUSTOMER_CREATED
    assert event.version == 1
    assert event.snapshot == customer.snapshot()
    assert event.changes["email"] == {"before": None, "after": "Customer@Example.com"}
    assert "internal" not in event.snapshot


def test_create_puts_the_customer_in_the_configured_default_group() -> None:
    assert new_customer().customer_group_id == "retail"
    assert new_customer(customer_group_id="wholesale").customer_group_id == "wholesale"


def test_create_refuses_a_group_that_is_not_configured() -> None:
    with pytest.raises(InvalidFields) as refused:
        decide(None, create_command(customer_group_id="vip"), NOW, POLICY)
    assert [e.field for e in refused.value.errors] == ["customer_group_id"]


def test_create_of_an_existing_customer_is_refused() -> None:
    with pytest.raises(CustomerAlreadyExists):
        decide(new_customer(), create_command(email="other@example.com"), NOW, POLICY)


def test_create_retried_with_the_same_fingerprint_answers_the_existing_customer() -> None:
    existing = new_customer(fingerprint="abc")
    again, event = decide(existing, create_command(fingerprint="abc"), NOW, POLICY)
    assert event is None
    assert again is existing


def test_create_retried_with_another_request_under_the_same_key_is_refused() -> None:
    with pytest.raises(IdempotencyKeyReused):
        decide(new_customer(fingerprint="abc"), create_command(fingerprint="xyz"), NOW, POLICY)


def test_the_document_round_trips() -> None:
    customer = new_customer(metadata={"tier": "gold"}, legacy_id="L-1", fingerprint="f")
    assert Customer.from_document(customer.to_document()) == customer


def test_update_changes_only_the_given_fields_and_names_them() -> None:
    customer = new_customer()
    after, event = decided(customer, UpdateCustomer({"first_name": "Jane", "phone": None}))

    assert after.first_name == "Jane"
    assert after.phone is None
    assert after.last_name == "Doe"
    assert after.version == 2
    assert event.type == CUSTOMER_UPDATED
    assert event.changes == {
        "first_name": {"before": "John", "after": "Jane"},
        "phone": {"before": "+14155550123", "after": None},
    }


def test_update_that_changes_nothing_commits_nothing() -> None:
    customer = new_customer()
    after, event = decide(customer, UpdateCustomer({"first_name": "John"}), NOW, POLICY)
    assert event is None
    assert after is customer


def test_update_parses_document_values() -> None:
    after, _ = decided(new_customer(), UpdateCustomer({"date_of_birth": "1985-05-17"}))
    assert after.date_of_birth == date(1985, 5, 17)


def test_update_refuses_read_only_fields_and_unknown_groups_together() -> None:
    changes = {"registration_source": "SHOP", "customer_group_id": "nope", "id": "x"}
    with pytest.raises(InvalidFields) as refused:
        decide(new_customer(), UpdateCustomer(changes), NOW, POLICY)
    fields = sorted(e.field for e in refused.value.errors)
    assert fields == ["customer_group_id", "id", "registration_source"]


def test_changing_the_email_clears_its_verification_but_a_case_change_does_not() -> None:
    verified = Customer.from_document({**new_customer().to_document(), "email_verified": True})
    recased, _ = decided(verified, UpdateCustomer({"email": "CUSTOMER@example.com"}))
    assert recased.email_verified is True
    moved, _ = decided(verified, UpdateCustomer({"email": "new@example.com"}))
    assert moved.email_verified is False


def test_a_stale_if_match_is_refused() -> None:
    customer = new_customer()
    with pytest.raises(VersionMismatch):
        decide(customer, UpdateCustomer({"first_name": "X"}, if_match=(7,)), NOW, POLICY)
    after, _ = decided(customer, UpdateCustomer({"first_name": "X"}, if_match=(1,)))
    assert after.version == 2


def test_commands_on_a_missing_customer_are_refused() -> None:
    with pytest.raises(CustomerNotFound):
        decide(None, UpdateCustomer({"first_name": "X"}), NOW, POLICY)


def test_delete_is_soft_and_restore_brings_the_customer_back() -> None:
    deleted, event = decided(new_customer(), DeleteCustomer())
    assert deleted.deleted
    assert event.type == CUSTOMER_DELETED
    assert event.changes["deleted_at"]["before"] is None

    with pytest.raises(CustomerDeleted):
        decide(deleted, UpdateCustomer({"first_name": "X"}), NOW, POLICY)
    with pytest.raises(CustomerDeleted):
        decide(deleted, DeleteCustomer(), NOW, POLICY)

    restored, event = decided(deleted, RestoreCustomer())
    assert not restored.deleted
    assert restored.version == 3
    assert event.type == CUSTOMER_RESTORED


def test_a_customer_restored_into_a_group_gone_or_retired_joins_the_default_group() -> None:
    deleted, _ = decided(new_customer(customer_group_id="wholesale"), DeleteCustomer())
    # Still active: it stays where it was.
    kept, _ = decided(deleted, RestoreCustomer())
    assert kept.customer_group_id == "wholesale"
    # Retired or deleted while the customer was away (the live set no longer has it).
    live = dataclasses.replace(POLICY, customer_groups=frozenset({"retail"}))
    moved, event = decide(deleted, RestoreCustomer(), NOW, live)
    assert event is not None
    assert (moved.customer_group_id, moved.deleted) == ("retail", False)
    assert event.changes["customer_group_id"] == {"before": "wholesale", "after": "retail"}


def test_restoring_a_live_customer_is_refused() -> None:
    with pytest.raises(CustomerNotDeleted):
        decide(new_customer(), RestoreCustomer(), NOW, POLICY)


def test_a_company_and_vat_id_belong_to_business_customers_only() -> None:
    with pytest.raises(InvalidFields) as refused:
        decide(None, create_command(company_name="Acme", vat_id="DE136695976"), NOW, POLICY)
    assert [e.field for e in refused.value.errors] == ["company_name", "vat_id"]
    assert {e.code for e in refused.value.errors} == {"business_only"}

    business, _ = decided(
        None, create_command(customer_type=CustomerType.BUSINESS, company_name="Acme"), NOW
    )
    assert business.company_name == "Acme"
    with pytest.raises(InvalidFields) as demoted:
        decide(business, UpdateCustomer(changes={"customer_type": "INDIVIDUAL"}), NOW, POLICY)
    assert [e.field for e in demoted.value.errors] == ["company_name"]
    cleared, event = decided(
        business, UpdateCustomer(changes={"customer_type": "INDIVIDUAL", "company_name": None}), NOW
    )
    assert (cleared.customer_type, cleared.company_name) == (CustomerType.INDIVIDUAL, None)
    assert event is not None
    assert event.changes["company_name"] == {"before": "Acme", "after": None}


def test_the_locale_is_a_profile_field_every_event_carries() -> None:
    customer = new_customer()
    updated, event = decided(customer, UpdateCustomer(changes={"locale": "vi-VN"}), NOW)
    assert updated.locale == "vi-VN"
    assert event is not None
    assert event.snapshot is not None
    assert event.snapshot["locale"] == "vi-VN"
    assert Customer.from_document(updated.to_document()) == updated


def test_a_group_is_checked_only_when_it_changes() -> None:
    customer = new_customer(customer_group_id="wholesale")
    # "wholesale" retired since: the live set no longer has it.
    live = dataclasses.replace(POLICY, customer_groups=frozenset({"retail"}))
    # The whole profile sent back, its group unchanged: the other change is made.
    same = UpdateCustomer({"customer_group_id": "wholesale", "first_name": "Wanda"})
    after, event = decide(customer, same, NOW, live)
    assert event is not None
    assert (after.first_name, after.customer_group_id) == ("Wanda", "wholesale")
    assert "customer_group_id" not in event.changes
    # Moved into a retired (or unknown) group: refused, as before.
    with pytest.raises(InvalidFields) as refused:
        decide(new_customer(), UpdateCustomer({"customer_group_id": "wholesale"}), NOW, live)
    assert [e.field for e in refused.value.errors] == ["customer_group_id"]
