"""The export's part read from the document: everything about the person, no secret."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal

from domain.commands import (
    AddAddress,
    RecordOrder,
    RequestEmailChange,
    StartTotpEnrollment,
    UpdatePreferences,
)
from domain.export import personal_data
from domain.model import Customer
from security.one_time import digest
from tests.unit.builders import NOW, US_ADDRESS, Clock, apply, new_customer

PASSWORD_HASH = "$2b$12$abcdefghijklmnopqrstuv0123456789abcdefghijklmnopqrstu"


def everything() -> Customer:
    clock = Clock()
    customer = new_customer(legacy_id="L-1", metadata={"note": "vip"})
    customer = apply(customer, AddAddress("a1", {**US_ADDRESS, "phone": "+12125550100"}), clock)
    customer = apply(customer, UpdatePreferences({"newsletter": True}, source="checkout"), clock)
    order = RecordOrder("o-1", Decimal("12.50"), NOW + timedelta(days=1))
    customer = apply(customer, order, clock)
    customer = apply(
        customer, StartTotpEnrollment("k1", "CIPHERTEXT", (digest("rc"),), True), clock
    )
    change = RequestEmailChange("next@example.org", digest("change"), {}, password_ok=True)
    customer = apply(customer, change, clock)
    # A password, as a registered customer has one.
    credentials = dataclasses.replace(customer.credentials, password_hash=PASSWORD_HASH)
    return dataclasses.replace(customer, credentials=credentials)


def test_the_export_holds_every_part_of_the_public_customer() -> None:
    customer = everything()
    held = personal_data(customer)
    snapshot = customer.snapshot()
    assert held["profile"] == customer.profile()
    assert [a["id"] for a in held["addresses"]] == ["a1"]
    assert held["addresses"][0]["phone"] == "+12125550100"
    assert {k: v for k, v in held["preferences"].items() if k != "consent_history"} == (
        snapshot["preferences"]
    )
    assert held["preferences"]["consent_history"] == [
        {
            "flag": "newsletter",
            "at": held["preferences"]["consents"]["newsletter"]["updated_at"],
            "source": "checkout",
            "before": False,
            "after": True,
        }
    ]
    assert held["orders"] == {**snapshot["orders"], "recorded_order_ids": ["o-1"]}
    sign_in = held["sign_in"]
    assert sign_in["has_password"] is True
    assert sign_in["two_factor_enabled"] is False
    assert sign_in["two_factor_enrollment_pending"] is True
    assert sign_in["recovery_codes_left"] == 1
    assert sign_in["email_change_pending"]["new_email"] == "next@example.org"


def test_the_export_holds_no_secret() -> None:
    customer = everything()
    text = json.dumps(personal_data(customer))
    secrets = [
        PASSWORD_HASH,
        "$2b$",
        "CIPHERTEXT",
        digest("rc"),
        digest("change"),
        "password_hash",
        "digest",
        "ciphertext",
        "session_epoch",
    ]
    for secret in secrets:
        assert secret not in text
    # Everything that was left out is in the stored document: the test would see it.
    stored = json.dumps(customer.to_document())
    assert all(secret in stored for secret in secrets)
