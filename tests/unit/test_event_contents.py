"""What each event carries: the snapshot only when it changed, and no personal
data in the events of sign-in steps, notices and token requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from domain.commands import (
    AttemptLogin,
    CancelErasure,
    ChangePassword,
    Command,
    CompleteLogin,
    ConfirmTotp,
    RegisterCustomer,
    RequestEmailChange,
    RequestEmailVerification,
    RequestErasure,
    RequestPasswordReset,
    SendNotice,
    StartTotpEnrollment,
    UpdateCustomer,
    VerifyEmail,
)
from domain.decide import decide
from domain.events import (
    CUSTOMER_LOCKED,
    CUSTOMER_RESYNCED,
    EVENT_SCHEMA,
    EVENT_TYPES,
    REGISTRATION_ATTEMPTED,
    WITHOUT_SNAPSHOT,
    CustomerEvent,
    dataschema,
)
from domain.model import Customer, CustomerStatus
from domain.transitions import advance, changed
from observability.logging import current_traceparent, request_traceparent
from security.one_time import digest
from security.totp import matching_step, new_secret
from tests.unit.builders import POLICY, create_command

T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
EMAIL = "Customer@Example.com"
SECRET = new_secret()


def life() -> list[tuple[Customer | None, Customer, CustomerEvent]]:
    """A customer through every sign-in step: (before, after, event) per change."""
    steps: list[tuple[Customer | None, Customer, CustomerEvent]] = []
    state: Customer | None = None
    now = T0

    def step(command: Command) -> None:
        nonlocal state, now
        now += timedelta(minutes=1)
        after, event = decide(state, command, now, POLICY)
        assert event is not None
        steps.append((state, after, event))
        state = after

    profile = create_command(status=CustomerStatus.PENDING_VERIFICATION, phone="+14155550100")
    step(RegisterCustomer(profile, "$2b$12$hash", digest("v1"), {"sealed": "x"}))
    step(RequestEmailVerification(digest("v2"), {"sealed": "y"}))
    step(VerifyEmail(digest("v2")))
    step(AttemptLogin(EMAIL.lower(), True, digest("c0")))
    step(SendNotice(REGISTRATION_ATTEMPTED))
    step(SendNotice(CUSTOMER_LOCKED, {"locked_until": "2026-05-04T10:00:00+00:00"}))
    step(RequestPasswordReset(digest("r1"), {"sealed": "z"}))
    step(ChangePassword(password_ok=True, password_hash="$2b$12$new"))
    step(StartTotpEnrollment("k1", "sealed", (), password_ok=True))
    step(ConfirmTotp(matching_step(SECRET, pyotp.TOTP(SECRET).at(now), now)))
    step(AttemptLogin(EMAIL.lower(), True, digest("c1")))
    step(CompleteLogin(digest("c1"), totp_step=None))  # a wrong code
    step(RequestEmailChange("new@example.org", digest("e1"), {"sealed": "e"}, password_ok=True))
    step(RequestErasure())
    step(CancelErasure())
    step(UpdateCustomer({"first_name": "Renamed"}))
    return steps


def test_events_of_changes_that_leave_the_snapshot_alone_carry_none_of_it() -> None:
    kinds = set()
    for before, after, event in life():
        data = event.to_data()
        assert data["customer_id"] == after.id
        assert data["version"] == after.version
        if event.type in WITHOUT_SNAPSHOT:
            kinds.add(event.type)
            assert before is not None
            assert before.snapshot() | {"version": 0, "updated_at": 0} == after.snapshot() | {
                "version": 0,
                "updated_at": 0,
            }
            assert "snapshot" not in data
            assert data["changes"] == {}
            text = str(data).lower()
            for personal in (after.email.lower(), after.first_name, after.phone):
                assert str(personal).lower() not in text
        else:
            assert data["snapshot"] == after.snapshot()
    assert kinds == WITHOUT_SNAPSHOT


def test_a_type_without_snapshot_still_carries_it_when_something_of_it_changed() -> None:
    customer, _ = decide(None, create_command(), T0, POLICY)
    after = advance(customer, T0, first_name="Changed")
    _, event = changed(CUSTOMER_LOCKED, customer, after, T0)
    assert event is not None
    assert event.snapshot == after.snapshot()


@pytest.mark.parametrize("event_type", [*EVENT_TYPES, CUSTOMER_RESYNCED])
def test_every_customer_event_names_the_current_schema(event_type: str) -> None:
    assert dataschema(event_type) == EVENT_SCHEMA


def test_derived_events_name_their_own_schema() -> None:
    assert dataschema("customer.segments.changed") == (
        "urn:customer-service:schema:customer.segments.changed:1"
    )


def test_the_traceparent_is_the_request_s_or_a_new_one_never_empty() -> None:
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = request_traceparent.set(incoming)
    try:
        assert current_traceparent() == incoming
    finally:
        request_traceparent.reset(token)
    for malformed in (None, "", "garbage", "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        token = request_traceparent.set(malformed)
        try:
            made = current_traceparent()
        finally:
            request_traceparent.reset(token)
        version, trace_id, span_id, flags = made.split("-")
        assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
        assert int(trace_id, 16) != 0
    assert current_traceparent() != current_traceparent()


def test_only_a_version_00_traceparent_is_passed_on() -> None:
    ids = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    for version in ("ff", "01", "0g"):
        token = request_traceparent.set(f"{version}-{ids}")
        try:
            made = current_traceparent()
        finally:
            request_traceparent.reset(token)
        assert made.startswith("00-")
        assert made.split("-", 1)[1] != ids
