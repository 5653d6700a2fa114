"""Preference decisions: every flag change records when and from where."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from domain.commands import UpdatePreferences
from domain.decide import decide
from domain.errors import InvalidFields
from domain.events import PREFERENCES_UPDATED
from domain.model import CONSENT_HISTORY_KEPT, INITIAL_CONSENT_SOURCE, ConsentChange, Customer
from tests.unit.builders import NOW, POLICY, decided, new_customer


def test_new_customers_have_not_opted_into_marketing() -> None:
    preferences = new_customer().current_preferences()
    assert preferences.flags["email_marketing"] is False
    assert preferences.flags["order_updates"] is True
    assert {c.source for c in preferences.consents.values()} == {INITIAL_CONSENT_SOURCE}


def test_a_consent_change_records_its_time_and_source_and_only_for_changed_flags() -> None:
    later = NOW + timedelta(minutes=5)
    command = UpdatePreferences({"email_marketing": True, "order_updates": True}, source="checkout")
    after, event = decided(new_customer(), command, later)
    preferences = after.current_preferences()
    assert preferences.flags["email_marketing"] is True
    assert preferences.consents["email_marketing"].updated_at == later
    assert preferences.consents["email_marketing"].source == "checkout"
    assert preferences.consents["order_updates"].source == INITIAL_CONSENT_SOURCE
    assert event.type == PREFERENCES_UPDATED
    assert event.changes["preferences.email_marketing"] == {"before": False, "after": True}
    assert "preferences.order_updates" not in event.changes


def test_custom_preferences_are_replaced_whole() -> None:
    first, _ = decided(new_customer(), UpdatePreferences({}, {"size": "M", "color": "red"}))
    second, _ = decided(first, UpdatePreferences({}, {"size": "L"}))
    assert second.current_preferences().custom_preferences == {"size": "L"}


def test_setting_what_is_already_set_commits_nothing() -> None:
    customer = new_customer()
    _, event = decide(customer, UpdatePreferences({"order_updates": True}), NOW, POLICY)
    assert event is None


def test_unknown_preferences_are_refused() -> None:
    with pytest.raises(InvalidFields):
        decide(new_customer(), UpdatePreferences({"telepathy": True}), NOW, POLICY)


def test_each_flag_change_is_kept_in_the_consent_history() -> None:
    first = NOW + timedelta(minutes=1)
    second = NOW + timedelta(minutes=2)
    opted_in, _ = decided(
        new_customer(),
        UpdatePreferences({"newsletter": True, "order_updates": True}, source="signup"),
        first,
    )
    opted_out, event = decided(opted_in, UpdatePreferences({"newsletter": False}), second)
    assert opted_out.consent_history == (
        ConsentChange("newsletter", first, "signup", before=False, after=True),
        ConsentChange("newsletter", second, "api", before=True, after=False),
    )
    # The history is the document's and the export's, not the events'.
    assert "consent_history" not in str(event.to_data())
    assert Customer.from_document(opted_out.to_document()) == opted_out


def test_the_consent_history_keeps_the_newest_changes() -> None:
    customer = new_customer()
    old = tuple(
        ConsentChange("newsletter", NOW, "api", before=n % 2 == 1, after=n % 2 == 0)
        for n in range(CONSENT_HISTORY_KEPT)
    )
    customer = dataclasses.replace(customer, consent_history=old)
    after, _ = decided(customer, UpdatePreferences({"sms_marketing": True}))
    assert len(after.consent_history) == CONSENT_HISTORY_KEPT
    assert after.consent_history[-1].flag == "sms_marketing"
    assert after.consent_history[0] == old[1]
