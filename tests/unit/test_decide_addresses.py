"""Address decisions and the default invariant, by example and by hypothesis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.commands import AddAddress, RemoveAddress, SetDefaultAddress, UpdateAddress
from domain.decide import decide
from domain.errors import (
    AddressNotFound,
    DefaultAddressRequired,
    DomainError,
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
from domain.model import DEFAULT_KINDS, AddressType, Customer
from domain.policy import Policy
from tests.unit.builders import NOW, POLICY, US_ADDRESS, Clock, add_address, decided, new_customer


def assert_default_invariant(customer: Customer) -> None:
    """Whenever a kind has addresses, exactly one of them is its default."""
    for kind in DEFAULT_KINDS:
        serving = {a.id for a in customer.addresses if a.type.serves(kind)}
        default = customer.default_address_id(kind)
        if serving:
            assert default in serving, (kind, default, serving)
        else:
            assert default is None, (kind, default)


def test_the_first_address_of_a_kind_becomes_its_default() -> None:
    customer = add_address(new_customer(), "a1")
    assert customer.default_shipping_address_id == "a1"
    assert customer.default_billing_address_id is None
    customer = add_address(customer, "a2", type="BILLING")
    assert customer.default_billing_address_id == "a2"
    customer = add_address(customer, "a3")
    assert customer.default_shipping_address_id == "a1"


def test_adding_with_is_default_moves_the_default_in_the_same_event() -> None:
    customer = add_address(add_address(new_customer(), "a1"), "a2", type="BOTH")
    after, event = decided(customer, AddAddress("a3", US_ADDRESS, is_default=True))
    assert after.default_shipping_address_id == "a3"
    assert after.default_billing_address_id == "a2"
    assert event.type == ADDRESS_CREATED
    assert event.changes["default_shipping_address_id"] == {"before": "a1", "after": "a3"}
    assert event.changes["addresses.a3"]["before"] is None


def test_address_fields_are_normalized() -> None:
    messy = {**US_ADDRESS, "country_code": "us", "state_province": "New York", "city": " NYC "}
    after, _ = decided(new_customer(), AddAddress("a1", messy))
    address = after.addresses[0]
    assert (address.country_code, address.state_province, address.city) == ("US", "NY", "NYC")


def test_every_country_rule_broken_is_reported_at_once() -> None:
    bad = {**US_ADDRESS, "city": "", "postal_code": "ABC", "state_province": "Atlantis"}
    with pytest.raises(InvalidFields) as refused:
        decide(new_customer(), AddAddress("a1", bad), NOW, POLICY)
    assert sorted(e.field for e in refused.value.errors) == [
        "city",
        "postal_code",
        "state_province",
    ]


def test_an_unknown_country_is_refused() -> None:
    with pytest.raises(InvalidFields) as refused:
        decide(new_customer(), AddAddress("a1", {**US_ADDRESS, "country_code": "XQ"}), NOW, POLICY)
    assert [e.field for e in refused.value.errors] == ["country_code"]


def test_deleting_the_default_promotes_the_oldest_remaining_address_of_its_kind() -> None:
    customer = add_address(new_customer(), "a1", is_default=True)
    customer = add_address(customer, "a2", type="BILLING")
    customer = add_address(customer, "a3")
    customer = add_address(customer, "a4", type="BOTH")
    after, event = decided(customer, RemoveAddress("a1"))
    assert after.default_shipping_address_id == "a3"
    assert after.default_billing_address_id == "a2"
    assert event.type == ADDRESS_DELETED
    assert event.changes["addresses.a1"]["after"] is None
    assert event.changes["default_shipping_address_id"] == {"before": "a1", "after": "a3"}


def test_deleting_the_last_address_of_a_kind_leaves_no_default() -> None:
    after, _ = decided(add_address(new_customer(), "a1"), RemoveAddress("a1"))
    assert after.addresses == ()
    assert after.default_shipping_address_id is None


def test_set_default_for_one_kind_or_all_kinds_the_address_serves() -> None:
    customer = add_address(add_address(new_customer(), "a1", type="BOTH"), "a2", type="BOTH")
    only_billing, event = decided(customer, SetDefaultAddress("a2", AddressType.BILLING))
    assert event.type == ADDRESS_DEFAULT_CHANGED
    assert only_billing.default_shipping_address_id == "a1"
    assert only_billing.default_billing_address_id == "a2"
    both, _ = decided(customer, SetDefaultAddress("a2"))
    assert both.default_shipping_address_id == both.default_billing_address_id == "a2"


def test_set_default_for_a_kind_the_address_does_not_serve_is_refused() -> None:
    with pytest.raises(InvalidFields):
        decide(
            add_address(new_customer(), "a1"),
            SetDefaultAddress("a1", AddressType.BILLING),
            NOW,
            POLICY,
        )


def test_set_default_on_the_current_default_changes_nothing() -> None:
    customer = add_address(new_customer(), "a1")
    after, event = decide(customer, SetDefaultAddress("a1"), NOW, POLICY)
    assert event is None
    assert after is customer


def test_changing_the_type_of_a_default_hands_the_lost_kind_to_another_address() -> None:
    customer = add_address(add_address(new_customer(), "a1", type="BOTH"), "a2", type="BILLING")
    after, event = decided(customer, UpdateAddress("a1", {"type": "SHIPPING"}))
    assert event.type == ADDRESS_UPDATED
    assert after.default_billing_address_id == "a2"
    assert event.changes["addresses.a1.type"] == {"before": "BOTH", "after": "SHIPPING"}


def test_unsetting_a_default_is_refused_with_a_hint() -> None:
    customer = add_address(add_address(new_customer(), "a1"), "a2")
    with pytest.raises(DefaultAddressRequired):
        decide(customer, UpdateAddress("a1", {}, is_default=False), NOW, POLICY)


def test_update_revalidates_the_whole_address_for_its_country() -> None:
    customer = add_address(new_customer(), "a1")
    with pytest.raises(InvalidFields) as refused:
        decide(customer, UpdateAddress("a1", {"country_code": "GB"}), NOW, POLICY)
    assert [e.field for e in refused.value.errors] == ["postal_code"]


def test_unknown_addresses_are_refused() -> None:
    with pytest.raises(AddressNotFound):
        decide(new_customer(), RemoveAddress("nope"), NOW, POLICY)


def test_at_most_the_configured_number_of_addresses() -> None:
    small = Policy(max_addresses=2, customer_groups=POLICY.customer_groups)
    customer = add_address(add_address(new_customer(), "a1"), "a2")
    with pytest.raises(TooManyAddresses):
        decide(customer, AddAddress("a3", US_ADDRESS), NOW, small)


def test_idempotency_key_replays_refuses_reuse_and_notices_deletion() -> None:
    customer = new_customer()
    command = AddAddress("a1", US_ADDRESS, idempotency_key="k1")
    created, _ = decided(customer, command)
    replay = AddAddress("a-other", US_ADDRESS, idempotency_key="k1")
    again, event = decide(created, replay, NOW + timedelta(seconds=2), POLICY)
    assert event is None
    assert again is created
    with pytest.raises(IdempotencyKeyReused):
        decide(
            created,
            AddAddress("a2", {**US_ADDRESS, "city": "Albany"}, idempotency_key="k1"),
            NOW,
            POLICY,
        )
    removed, _ = decided(created, RemoveAddress("a1"), NOW + timedelta(seconds=3))
    with pytest.raises(IdempotentResourceGone):
        decide(removed, replay, NOW + timedelta(seconds=4), POLICY)


def test_a_replay_wins_over_the_if_match_it_carried() -> None:
    customer = new_customer()
    command = AddAddress("a1", US_ADDRESS, idempotency_key="k1", if_match=(customer.version,))
    created, event = decided(customer, command)
    assert event is not None
    # The same request again: its If-Match names the version before its own change.
    replayed, again = decide(created, command, NOW + timedelta(seconds=2), POLICY)
    assert again is None
    assert replayed == created
    # Any other request with that stale If-Match is still refused.
    with pytest.raises(DomainError) as refused:
        decided(created, AddAddress("a2", US_ADDRESS, if_match=(customer.version,)))
    assert refused.value.code == "version_mismatch"


def test_idempotency_records_expire_after_a_day() -> None:
    created, _ = decided(new_customer(), AddAddress("a1", US_ADDRESS, idempotency_key="k1"))
    later = NOW + timedelta(days=2)
    after, event = decided(created, AddAddress("a2", US_ADDRESS, idempotency_key="k2"), later)
    assert [r.key for r in after.idempotency] == ["k2"]
    assert event.snapshot is not None
    assert event.snapshot.get("internal") is None


# -- the invariant under random command sequences -------------------------------------------

ADDRESS_IDS = [f"a{n}" for n in range(6)]
types = st.sampled_from(["SHIPPING", "BILLING", "BOTH"])
address_ids = st.sampled_from(ADDRESS_IDS)
commands = st.one_of(
    st.builds(
        lambda aid, kind, default: AddAddress(aid, {**US_ADDRESS, "type": kind}, default),
        address_ids,
        types,
        st.booleans(),
    ),
    st.builds(
        lambda aid, kind, default: UpdateAddress(aid, {"type": kind}, default),
        address_ids,
        types,
        st.sampled_from([None, True, False]),
    ),
    st.builds(RemoveAddress, address_ids),
    st.builds(
        SetDefaultAddress,
        address_ids,
        st.sampled_from([None, AddressType.SHIPPING, AddressType.BILLING, AddressType.BOTH]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(commands, max_size=40))
def test_every_command_sequence_keeps_exactly_one_default_per_kind(steps: list[object]) -> None:
    clock = Clock()
    customer = new_customer()
    for command in steps:
        try:
            after, event = decide(customer, command, clock.tick(), POLICY)  # type: ignore[arg-type]
        except DomainError:
            continue  # a refusal changes nothing
        if event is not None:
            assert after.version == customer.version + 1
            assert event.version == after.version
        customer = after
        assert_default_invariant(customer)
        assert len({a.id for a in customer.addresses}) == len(customer.addresses)
