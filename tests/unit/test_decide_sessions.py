"""When sessions end, decided on the document: the epoch, the access check, the
step-up changes (a new password, a new email), notices and refresh rotation."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from accounts.ended_sessions import EndedSessions
from domain.commands import (
    AddAddress,
    ChangePassword,
    Command,
    ConfirmEmailChange,
    ConfirmTotp,
    DeleteCustomer,
    DisableTotp,
    RegisterCustomer,
    RequestEmailChange,
    RequestPasswordReset,
    ResetPassword,
    SendNotice,
    StartTotpEnrollment,
    UpdateCustomer,
    UpdatePreferences,
)
from domain.decide import decide
from domain.errors import (
    AccountDisabled,
    CustomerDeleted,
    InvalidFields,
    InvalidToken,
    SessionEnded,
    WrongPassword,
)
from domain.events import (
    CUSTOMER_LOCKED,
    REGISTRATION_ATTEMPTED,
)
from domain.model import Customer, CustomerStatus
from domain.sessions import (
    Access,
    RefreshRecord,
    RefreshVerdict,
    check_access,
    judge_refresh,
)
from security.one_time import digest
from tests.unit.builders import NOW, POLICY, US_ADDRESS, create_command


def registered() -> Customer:
    command = RegisterCustomer(create_command(), "$2b$hash", digest("verify"), {})
    customer, _ = decide(None, command, NOW, POLICY)
    return customer


def after(customer: Customer, command: Command) -> tuple[Customer, dict[str, object]]:
    changed, event = decide(customer, command, NOW, POLICY)
    assert event is not None
    return changed, event.to_data()


def epoch(customer: Customer) -> int:
    return customer.credentials.session_epoch


def with_2fa() -> Customer:
    customer, _ = after(registered(), StartTotpEnrollment("k", "s", (), password_ok=True))
    customer, _ = after(customer, ConfirmTotp(7))
    return customer


ENDING = [
    pytest.param(registered, UpdateCustomer({"status": "SUSPENDED"}), id="suspension"),
    pytest.param(registered, UpdateCustomer({"status": "INACTIVE"}), id="deactivation"),
    pytest.param(registered, DeleteCustomer(), id="soft delete"),
    pytest.param(registered, UpdateCustomer({"email": "new@example.com"}), id="email (admin)"),
    pytest.param(registered, ChangePassword(password_ok=True, password_hash="$2b$n"), id="pw"),
    pytest.param(registered, ConfirmTotp(7), id="2fa on"),
    pytest.param(with_2fa, DisableTotp(7 + 1, password_ok=True), id="2fa off"),
]


@pytest.mark.parametrize(("start", "command"), ENDING)
def test_changes_that_end_every_session_move_the_epoch_and_say_so(
    start: object, command: Command
) -> None:
    customer = start()  # type: ignore[operator]
    if isinstance(command, ConfirmTotp):
        customer, _ = after(customer, StartTotpEnrollment("k", "s", (), password_ok=True))
    changed, data = after(customer, command)
    assert epoch(changed) == epoch(customer) + 1
    assert data["sessions_ended"] is True
    with pytest.raises((SessionEnded, AccountDisabled)):
        check_access(changed, Access(epoch(customer)))


@pytest.mark.parametrize(
    "command",
    [
        UpdateCustomer({"first_name": "Jane"}),
        UpdateCustomer({"email": "CUSTOMER@example.COM"}),  # the same address
        UpdateCustomer({"status": "PENDING_VERIFICATION"}),  # not a blocked status
        AddAddress("a1", US_ADDRESS),
        UpdatePreferences({"newsletter": True}),
        StartTotpEnrollment("k", "s", (), password_ok=True),  # not on until confirmed
        RequestPasswordReset(digest("reset"), {}),
    ],
)
def test_other_changes_leave_the_sessions_alone(command: Command) -> None:
    customer = registered()
    changed, data = after(customer, command)
    assert epoch(changed) == epoch(customer)
    assert "sessions_ended" not in data
    check_access(changed, Access(epoch(customer)))


def test_a_customers_command_of_an_ended_session_is_refused_before_its_decision() -> None:
    customer, _ = after(registered(), ChangePassword(password_ok=True, password_hash="$2b$n"))
    with pytest.raises(SessionEnded):
        decide(customer, UpdateCustomer({"first_name": "X"}, access=Access(0)), NOW, POLICY)
    changed, _ = after(customer, UpdateCustomer({"first_name": "X"}, access=Access(1)))
    assert changed.first_name == "X"
    # Admins and services name no session.
    after(customer, UpdateCustomer({"first_name": "Y"}))


def test_access_is_refused_for_a_blocked_or_deleted_account_whatever_its_epoch() -> None:
    customer = registered()
    suspended = dataclasses.replace(customer, status=CustomerStatus.SUSPENDED)
    deleted = dataclasses.replace(customer, deleted_at=NOW)
    with pytest.raises(AccountDisabled):
        check_access(suspended, Access(0))
    with pytest.raises(SessionEnded):
        check_access(deleted, Access(0))
    check_access(None, Access(0))  # no customer: the decision says not found


def test_a_password_change_needs_the_current_password() -> None:
    customer = registered()
    with pytest.raises(WrongPassword):
        decide(customer, ChangePassword(password_ok=False, password_hash=None), NOW, POLICY)
    customer, _ = after(customer, RequestPasswordReset(digest("reset"), {}))
    changed, data = after(customer, ChangePassword(password_ok=True, password_hash="$2b$n"))
    assert changed.credentials.password_hash == "$2b$n"
    # A reset link sent before is void now.
    with pytest.raises(InvalidToken):
        decide(changed, ResetPassword(digest("reset"), "$2b$x"), NOW, POLICY)
    # The event tells the customer's address, and carries no secret.
    assert data["snapshot"]["email"] == customer.email  # type: ignore[index]
    assert "$2b$" not in str(data)


def email_change(new: str = "new@example.com", ok: bool = True) -> RequestEmailChange:
    return RequestEmailChange(
        new_email=new, digest=digest("change"), delivery={"sealed": "x"}, password_ok=ok
    )


def test_an_email_change_waits_for_the_token_sent_to_the_new_address() -> None:
    customer = registered()
    with pytest.raises(WrongPassword):
        decide(customer, email_change(ok=False), NOW, POLICY)
    with pytest.raises(InvalidFields):
        decide(customer, email_change(new=customer.email.upper()), NOW, POLICY)

    pending, requested = after(customer, email_change())
    assert pending.email == customer.email
    assert epoch(pending) == epoch(customer)
    assert requested["new_email"] == "new@example.com"
    assert requested["delivery"] == {"sealed": "x"}
    assert "sessions_ended" not in requested

    with pytest.raises(InvalidToken):
        decide(pending, ConfirmEmailChange(digest("guess")), NOW, POLICY)
    late = NOW + POLICY.email_verification_ttl + timedelta(seconds=1)
    with pytest.raises(InvalidToken):
        decide(pending, ConfirmEmailChange(digest("change")), late, POLICY)
    changed, confirmed = after(pending, ConfirmEmailChange(digest("change")))
    assert (changed.email, changed.email_verified) == ("new@example.com", True)
    assert changed.status is CustomerStatus.ACTIVE
    assert confirmed["previous_email"] == customer.email
    assert confirmed["sessions_ended"] is True
    with pytest.raises(InvalidToken):
        decide(changed, ConfirmEmailChange(digest("change")), NOW, POLICY)


def test_an_email_set_by_an_admin_voids_a_pending_change() -> None:
    pending, _ = after(registered(), email_change())
    changed, data = after(pending, UpdateCustomer({"email": "admin-set@example.com"}))
    assert data["previous_email"] == pending.email
    with pytest.raises(InvalidToken):
        decide(changed, ConfirmEmailChange(digest("change")), NOW, POLICY)


@pytest.mark.parametrize("kind", [REGISTRATION_ATTEMPTED, CUSTOMER_LOCKED])
def test_a_notice_commits_only_its_count(kind: str) -> None:
    customer = registered()
    noticed, data = after(customer, SendNotice(kind, {"locked_until": "soon"}))
    assert noticed.version == customer.version + 1
    assert noticed.notices == customer.notices + 1
    assert data["changes"] == {}
    assert data["locked_until"] == "soon"
    assert noticed.snapshot() == {**customer.snapshot(), "version": noticed.version}


def test_no_notice_for_a_deleted_customer_or_of_an_unknown_kind() -> None:
    customer = registered()
    with pytest.raises(InvalidFields):
        decide(customer, SendNotice("customer.anything"), NOW, POLICY)
    deleted, _ = after(customer, DeleteCustomer())
    with pytest.raises(CustomerDeleted):
        decide(deleted, SendNotice(REGISTRATION_ATTEMPTED), NOW, POLICY)


GRACE = timedelta(seconds=5)


def test_a_refresh_token_is_used_once_with_a_grace_for_crossing_refreshes() -> None:
    live = RefreshRecord(expires_at=NOW + timedelta(days=30), rotated_at=None, session_ended=False)
    assert judge_refresh(live, NOW, GRACE) is RefreshVerdict.ROTATE
    rotated = dataclasses.replace(live, rotated_at=NOW)
    assert judge_refresh(rotated, NOW + GRACE, GRACE) is RefreshVerdict.SIBLING
    assert judge_refresh(rotated, NOW + GRACE * 2, GRACE) is RefreshVerdict.REUSED
    for record in (
        None,
        dataclasses.replace(live, session_ended=True),
        dataclasses.replace(live, expires_at=NOW),
        dataclasses.replace(rotated, session_ended=True),
    ):
        assert judge_refresh(record, NOW, GRACE) is RefreshVerdict.INVALID


def test_ended_sessions_are_remembered_while_their_tokens_may_live() -> None:
    clock = [1000.0]
    ended = EndedSessions(keep=timedelta(minutes=16), clock=lambda: clock[0])
    ended.add(["s1"])
    ended.add(["s0"], at=1000.0 - 17 * 60)  # loaded late: already past keeping
    assert "s1" in ended
    clock[0] += 15 * 60
    ended.add(["s2"])
    assert {"s1", "s2"} <= {s for s in ("s0", "s1", "s2") if s in ended}
    clock[0] += 2 * 60
    ended.add([])
    assert "s1" not in ended
    assert "s2" in ended
    assert len(ended) == 1
