"""The chaos suite's checks find what they look for (a 0 in its table means something)."""

from __future__ import annotations

from typing import Any

from tests.chaos.load import ACKED, ADDRESS, CREATE, PATCH, REFUSED, Write
from tests.chaos.truth import (
    StreamEvent,
    default_address_violations,
    duplicate_customers,
    event_coverage,
    first_publications,
    lost_writes,
    percentile,
    phantom_events,
    publish_delay,
    refused_writes_that_landed,
)

A, B = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"


def document(version: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": A,
        "email": "a@example.com",
        "version": version,
        "deleted_at": None,
        "metadata": {"chaos_seq": 0},
        "addresses": [],
        "default_shipping_address_id": None,
        "default_billing_address_id": None,
        "internal": {"idempotency": []},
        **fields,
    }


def event(kind: str, customer: str, version: int, snapshot: Any, at: float = 10.0) -> StreamEvent:
    data = {"customer_id": customer, "version": version, "snapshot": snapshot}
    return StreamEvent(f"{int(at * 1000)}-0", at, kind, customer, version, at - 1.0, data)


def write(kind: str, version: int | None, outcome: str = ACKED, **fields: Any) -> Write:
    return Write(0, kind, A, 0.0, outcome=outcome, version=version, **fields)


def test_lost_writes_compare_versions_and_contents() -> None:
    stored = {A: document(3, metadata={"chaos_seq": 2})}
    writes = [
        write(CREATE, 1),
        write(PATCH, 2, seq=1),
        write(PATCH, 3, seq=2),
        write(ADDRESS, 3, address_id="gone"),  # acknowledged, not stored
        write(PATCH, 4, seq=3),  # acknowledged at a version never stored
    ]
    found = lost_writes(writes, stored)
    assert found.count == 2
    assert any("address gone" in case for case in found.cases)
    assert lost_writes(writes[:3], {}).count == 3  # no document at all


def test_a_later_unacknowledged_patch_may_explain_the_stored_value() -> None:
    stored = {A: document(3, metadata={"chaos_seq": 2})}
    writes = [write(PATCH, 2, seq=1), write(PATCH, None, outcome="gave_up", seq=2)]
    assert lost_writes(writes, stored).count == 0
    writes[1].outcome = REFUSED  # a refusal cannot have landed
    assert lost_writes(writes, stored).count == 1
    assert refused_writes_that_landed(writes, stored).count == 1


def test_phantom_events() -> None:
    stored = {A: document(2)}
    snapshot = {k: v for k, v in stored[A].items() if k != "internal"}
    events = [
        event("customer.created", A, 1, {"v": 1}),
        event("customer.updated", A, 2, snapshot),
        event("customer.resynced", A, 2, snapshot),
        event("customer.segments.changed", A, 2, None),
    ]
    assert phantom_events(events, stored).count == 0
    events += [
        event("customer.updated", A, 3, {"v": 3}),  # never committed
        event("customer.updated", B, 1, {"v": 1}),  # no such customer
        event("customer.created", A, 1, {"v": "other"}),  # a second version 1
        event("customer.resynced", A, 2, {"v": "stale"}),  # not the stored snapshot
    ]
    assert phantom_events(events, stored).count == 4


def test_missing_events_and_resync_coverage() -> None:
    stored = {A: document(4)}
    events = [
        event("customer.created", A, 1, {}),
        event("customer.created", A, 1, {}),
        event("customer.updated", A, 3, {}),
        event("customer.resynced", A, 4, {}),
    ]
    coverage = event_coverage(events, stored, {A})
    assert coverage.missing.cases == [f"{A} v2"]
    assert coverage.resync_covered.cases == [f"{A} v4"]
    assert coverage.duplicates == 1


def test_one_live_customer_per_normalized_email() -> None:
    stored = {
        A: document(1, email="Shared@Example.com"),
        B: document(1, id=B, email="shared@example.com"),
    }
    assert duplicate_customers(stored).count == 1
    stored[B]["deleted_at"] = "2026-01-01T00:00:00Z"
    assert duplicate_customers(stored).count == 0


def test_default_address_invariant() -> None:
    both = {"id": "x", "type": "BOTH"}
    billing = {"id": "y", "type": "BILLING"}
    good = document(3, addresses=[both, billing])
    good.update(default_shipping_address_id="x", default_billing_address_id="y")
    assert default_address_violations({A: good}).count == 0
    no_default = {**good, "default_shipping_address_id": None}
    wrong_kind = {**good, "default_shipping_address_id": "y"}
    dangling = document(1, default_billing_address_id="z")
    found = default_address_violations({A: no_default, B: wrong_kind, "c": dangling})
    assert found.count == 3


def test_publish_delays_count_each_change_once() -> None:
    first = event("customer.updated", A, 2, {}, at=12.0)
    again = event("customer.updated", A, 2, {}, at=40.0)
    published = first_publications([again, first, event("customer.resynced", A, 2, {})])
    assert published == [first]
    assert publish_delay(first) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([], 0.5) is None
