"""Segment rules: operators, weights, thresholds, validation."""

from __future__ import annotations

from datetime import date

import pytest

from domain.segments import Rule, Segment, facts, matches, memberships, rule_errors, score
from tests.unit.builders import NOW, add_address, new_customer

TODAY = date(2026, 6, 1)


def snapshot(**overrides: object) -> dict[str, object]:
    customer = add_address(new_customer(), "a1")
    return {**customer.snapshot(), **overrides}


def known(**overrides: object) -> dict[str, object]:
    return facts(snapshot(**overrides), TODAY)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Rule("total_orders", "gt", 5), False),
        (Rule("total_orders", "gte", 0), True),
        (Rule("total_spent", "lt", "10.50"), True),
        (Rule("age", "gte", 36), True),  # born 1990-01-01
        (Rule("age", "lt", 36), False),
        (Rule("status", "eq", "ACTIVE"), True),
        (Rule("status", "neq", "ACTIVE"), False),
        (Rule("customer_group_id", "in", ["vip", "retail"]), True),
        (Rule("address_countries", "contains", "US"), True),
        (Rule("address_countries", "contains", "DE"), False),
        (Rule("registration_source", "contains", "web"), True),
        (Rule("preferences.newsletter", "eq", False), True),
        (Rule("created_at", "gt", "2026-01-01T00:00:00+00:00"), True),
        (Rule("last_order_at", "eq", None), True),
        (Rule("last_order_at", "gt", "2026-01-01T00:00:00+00:00"), False),
    ],
)
def test_operators(rule: Rule, expected: bool) -> None:
    assert matches(rule, known()) is expected


def test_weights_and_thresholds() -> None:
    rules = (Rule("status", "eq", "ACTIVE", 2), Rule("total_orders", "gt", 5, 3))
    assert score(Segment("s", "all", rules), known()) is None  # every rule by default
    assert score(Segment("s", "some", rules, min_score=2), known()) == 2
    assert score(Segment("s", "open", ()), known()) == 0
    assert score(Segment("s", "default", rules, is_default=True), known()) == 2


def test_deleted_customers_and_inactive_segments_have_no_members() -> None:
    segment = Segment("s", "everyone", ())
    assert memberships([segment], snapshot(), TODAY) == {"s": 0}
    assert memberships([segment], snapshot(deleted_at=NOW.isoformat()), TODAY) == {}
    off = Segment("s", "off", (), active=False)
    assert memberships([off], snapshot(), TODAY) == {}


def test_every_bad_rule_is_reported_at_once() -> None:
    rules = [
        Rule("shoe_size", "gt", 1),
        Rule("status", "like", "A"),
        Rule("total_orders", "gt", "many"),
        Rule("status", "in", "ACTIVE"),
        Rule("total_orders", "contains", 1),
        Rule("email_verified", "eq", "yes", weight=0),
    ]
    fields = [e.field for e in rule_errors(rules, min_score=None)]
    assert fields == [
        "rules.0.field",
        "rules.1.operator",
        "rules.2.value",
        "rules.3.value",
        "rules.4.operator",
        "rules.5.weight",
        "rules.5.value",
    ]
    assert [e.field for e in rule_errors([Rule("status", "eq", "ACTIVE")], 5)] == ["min_score"]


@pytest.mark.parametrize(
    "rule",
    [
        Rule("total_spent", "in", ["abc"]),
        Rule("address_countries", "gt", 1),
        Rule("email_verified", "in", [1]),
        Rule("created_at", "in", ["2024-01-01"]),
    ],
)
def test_rules_that_cannot_apply_are_refused_and_never_crash(rule: Rule) -> None:
    assert rule_errors([rule], None)
    assert matches(rule, known()) is False
