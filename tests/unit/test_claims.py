"""Claims on unique values: when a claimant may take a key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.claims import LEASE, Claim, Verdict, judge
from domain.unique_keys import email_key, legacy_id_key, unique_keys
from tests.unit.builders import new_customer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_verdicts() -> None:
    assert judge(None, "c1", NOW) is Verdict.FREE
    assert judge(Claim("c1", NOW - timedelta(days=9)), "c1", NOW) is Verdict.YOURS
    assert judge(Claim("c2", NOW - timedelta(seconds=5)), "c1", NOW) is Verdict.TAKEN
    assert judge(Claim("c2", NOW - LEASE), "c1", NOW) is Verdict.VERIFY


def test_claims_round_trip() -> None:
    claim = Claim("c1", NOW)
    assert Claim.from_document(claim.to_document()) == claim


def test_email_keys_ignore_case_and_hide_the_address() -> None:
    assert email_key(" Jane.Doe@Example.COM") == email_key("jane.doe@example.com")
    assert "jane" not in email_key("jane.doe@example.com")
    assert email_key("a@example.com") != legacy_id_key("a@example.com")


def test_a_customer_holds_its_email_and_legacy_id_until_deleted() -> None:
    customer = new_customer(legacy_id="L-1")
    assert unique_keys(customer) == {email_key(customer.email), legacy_id_key("L-1")}
    deleted = customer.__class__.from_document(
        {**customer.to_document(), "deleted_at": NOW.isoformat()}
    )
    assert unique_keys(deleted) == frozenset()
    assert unique_keys(None) == frozenset()
