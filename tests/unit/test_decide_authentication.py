"""Sign-in decisions: passwords, the second factor, single-use tokens, step-up.

TOTP codes are made with pyotp at controlled times and matched by the same
helper the actor uses; the decisions then see only the matched time step.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from domain.commands import (
    AttemptLogin,
    Command,
    CompleteLogin,
    ConfirmTotp,
    DisableTotp,
    RegisterCustomer,
    RequestEmailVerification,
    RequestPasswordReset,
    ResetPassword,
    StartTotpEnrollment,
    UpdateCustomer,
    VerifyEmail,
)
from domain.decide import decide
from domain.errors import (
    AccountDisabled,
    InvalidChallenge,
    InvalidCredentials,
    InvalidSecondFactor,
    InvalidToken,
    TwoFactorState,
    WrongPassword,
)
from domain.events import (
    CUSTOMER_REGISTERED,
    EMAIL_VERIFIED,
    LOGGED_IN,
    LOGIN_FAILED,
    PASSWORD_CHANGED,
    SECOND_FACTOR_REQUESTED,
    TOTP_DISABLED,
    TOTP_ENABLED,
)
from domain.model import Customer, CustomerStatus
from security.one_time import digest
from security.totp import matching_step, new_secret
from tests.unit.builders import POLICY, create_command

T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
EMAIL = "Customer@Example.com"


def registered(now: datetime = T0) -> Customer:
    command = RegisterCustomer(
        profile=create_command(status=CustomerStatus.PENDING_VERIFICATION),
        password_hash="$2b$12$not-a-real-hash",
        verification_digest=digest("verify-1"),
        delivery={"sealed": "x"},
    )
    customer, event = decide(None, command, now, POLICY)
    assert event is not None
    assert event.type == CUSTOMER_REGISTERED
    return customer


def run(customer: Customer, command: Command, now: datetime = T0) -> tuple[Customer, str]:
    after, event = decide(customer, command, now, POLICY)
    assert event is not None
    return after, event.type


def login(
    customer: Customer, ok: bool, now: datetime, challenge: str = "c1"
) -> tuple[Customer, str]:
    after, event = decide(customer, AttemptLogin(EMAIL.lower(), ok, digest(challenge)), now, POLICY)
    assert event is not None
    return after, event.type


def test_registration_keeps_no_secret_in_the_snapshot() -> None:
    customer = registered()
    command = RegisterCustomer(create_command(), "$2b$12$hash", digest("t"), {"sealed": "x"})
    _, event = decide(None, command, T0, POLICY)
    assert event is not None
    text = str(event.to_data())
    assert "$2b$" not in text
    assert digest("t") not in text
    assert event.to_data()["delivery"] == {"sealed": "x"}
    assert customer.status is CustomerStatus.PENDING_VERIFICATION


def test_a_right_password_signs_in_and_a_wrong_one_changes_nothing() -> None:
    """Wrong passwords are counted outside the document (domain/throttles.py),
    alike for emails that belong to no customer."""
    customer = registered()
    with pytest.raises(InvalidCredentials):
        decide(customer, AttemptLogin(EMAIL, False, digest("c1")), T0, POLICY)
    customer, kind = login(customer, True, T0)
    assert kind == LOGGED_IN
    assert customer.last_login_at == T0


def test_an_email_the_customer_does_not_have_is_refused_like_a_wrong_password() -> None:
    with pytest.raises(InvalidCredentials):
        decide(registered(), AttemptLogin("other@example.com", True, "d"), T0, POLICY)
    with pytest.raises(InvalidCredentials):
        decide(None, AttemptLogin(EMAIL, True, "d"), T0, POLICY)


def test_a_suspended_account_cannot_sign_in() -> None:
    customer = dataclasses.replace(registered(), status=CustomerStatus.SUSPENDED)
    with pytest.raises(AccountDisabled):
        decide(customer, AttemptLogin(EMAIL, True, "d"), T0, POLICY)


# -- TOTP -----------------------------------------------------------------------------------

SECRET = new_secret()


def with_totp(recovery: tuple[str, ...] = ()) -> Customer:
    customer = registered()
    customer, _ = run(customer, StartTotpEnrollment("k1", "sealed", recovery, password_ok=True))
    assert not customer.two_factor_enabled
    code = pyotp.TOTP(SECRET).at(T0)
    customer, kind = run(customer, ConfirmTotp(matching_step(SECRET, code, T0)))
    assert kind == TOTP_ENABLED
    return customer


def test_the_secret_is_160_bits() -> None:
    assert len(base64.b32decode(SECRET)) == 20


def test_codes_match_their_step_within_one_step_of_drift() -> None:
    totp = pyotp.TOTP(SECRET)
    now = T0 + timedelta(minutes=10)
    step = totp.timecode(now)
    assert matching_step(SECRET, totp.at(now), now) == step
    assert matching_step(SECRET, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert matching_step(SECRET, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert matching_step(SECRET, totp.at(now - timedelta(seconds=60)), now) is None
    assert matching_step(SECRET, totp.at(now + timedelta(seconds=60)), now) is None
    assert matching_step(SECRET, "12345", now) is None
    assert matching_step(SECRET, "abcdef", now) is None


def test_confirming_with_a_wrong_code_is_refused() -> None:
    customer = registered()
    customer, _ = run(customer, StartTotpEnrollment("k1", "sealed", (), password_ok=True))
    with pytest.raises(InvalidSecondFactor):
        decide(customer, ConfirmTotp(None), T0, POLICY)


def test_with_2fa_a_login_waits_for_a_code_which_is_accepted_once() -> None:
    now = T0 + timedelta(minutes=5)
    customer, kind = login(with_totp(), True, now, challenge="ch")
    assert kind == SECOND_FACTOR_REQUESTED
    assert customer.last_login_at is None
    step = matching_step(SECRET, pyotp.TOTP(SECRET).at(now), now)
    signed_in, event = decide(customer, CompleteLogin(digest("ch"), totp_step=step), now, POLICY)
    assert event is not None
    assert event.type == LOGGED_IN
    # The challenge is spent, and the same code (its step) cannot be used again.
    with pytest.raises(InvalidChallenge):
        decide(signed_in, CompleteLogin(digest("ch"), totp_step=step), now, POLICY)
    again, _ = login(signed_in, True, now, challenge="ch2")
    _, kind = run(again, CompleteLogin(digest("ch2"), totp_step=step), now)
    assert kind == LOGIN_FAILED


def test_a_code_drifted_by_two_steps_is_refused() -> None:
    now = T0 + timedelta(minutes=5)
    customer, _ = login(with_totp(), True, now, challenge="ch")
    stale = pyotp.TOTP(SECRET).at(now - timedelta(seconds=60))
    step = matching_step(SECRET, stale, now)
    assert step is None
    _, event = decide(customer, CompleteLogin(digest("ch"), totp_step=step), now, POLICY)
    assert event is not None
    assert event.type == LOGIN_FAILED


def test_five_wrong_codes_void_the_challenge() -> None:
    now = T0 + timedelta(minutes=5)
    customer, _ = login(with_totp(), True, now, challenge="ch")
    for _ in range(5):
        customer, kind = run(customer, CompleteLogin(digest("ch"), totp_step=None), now)
        assert kind == LOGIN_FAILED
    assert customer.credentials.challenge is None
    with pytest.raises(InvalidChallenge):
        decide(customer, CompleteLogin(digest("ch"), totp_step=None), now, POLICY)


def test_an_expired_challenge_is_refused() -> None:
    customer, _ = login(with_totp(), True, T0, challenge="ch")
    late = T0 + POLICY.challenge_ttl + timedelta(seconds=1)
    with pytest.raises(InvalidChallenge):
        decide(customer, CompleteLogin(digest("ch"), totp_step=1), late, POLICY)


def test_a_recovery_code_works_once() -> None:
    customer = with_totp(recovery=(digest("r1"), digest("r2")))
    customer, _ = login(customer, True, T0, challenge="a")
    customer, kind = run(customer, CompleteLogin(digest("a"), recovery_digest=digest("r1")))
    assert kind == LOGGED_IN
    assert customer.credentials.totp is not None
    assert customer.credentials.totp.recovery_digests == (digest("r2"),)
    customer, _ = login(customer, True, T0, challenge="b")
    _, event = decide(
        customer, CompleteLogin(digest("b"), recovery_digest=digest("r1")), T0, POLICY
    )
    assert event is not None
    assert event.type == LOGIN_FAILED


def test_disabling_needs_the_password_and_a_valid_code_or_recovery_code() -> None:
    """A wrong one changes nothing: the flow counts it against the account's step-up."""
    customer = with_totp(recovery=(digest("r1"),))
    with pytest.raises(InvalidSecondFactor):
        decide(customer, DisableTotp(password_ok=True), T0, POLICY)
    with pytest.raises(WrongPassword):
        decide(customer, DisableTotp(recovery_digest=digest("r1")), T0, POLICY)
    command = DisableTotp(recovery_digest=digest("r1"), password_ok=True)
    off, event = decide(customer, command, T0, POLICY)
    assert event is not None
    assert event.type == TOTP_DISABLED
    assert not off.two_factor_enabled
    with pytest.raises(TwoFactorState):
        decide(off, command, T0, POLICY)


def test_enrolling_needs_the_password_and_is_refused_twice() -> None:
    with pytest.raises(WrongPassword):
        decide(registered(), StartTotpEnrollment("k1", "x", ()), T0, POLICY)
    with pytest.raises(TwoFactorState):
        decide(with_totp(), StartTotpEnrollment("k1", "x", (), password_ok=True), T0, POLICY)


# -- tokens ---------------------------------------------------------------------------------


def test_email_verification_is_single_use_and_expires() -> None:
    customer = registered()
    verified, event = decide(customer, VerifyEmail(digest("verify-1")), T0, POLICY)
    assert event is not None
    assert event.type == EMAIL_VERIFIED
    assert verified.email_verified
    assert verified.status is CustomerStatus.ACTIVE
    with pytest.raises(InvalidToken):
        decide(verified, VerifyEmail(digest("verify-1")), T0, POLICY)
    late = T0 + POLICY.email_verification_ttl + timedelta(seconds=1)
    with pytest.raises(InvalidToken):
        decide(customer, VerifyEmail(digest("verify-1")), late, POLICY)


def test_a_new_token_voids_the_older_one() -> None:
    customer, _ = decide(registered(), RequestEmailVerification(digest("verify-2"), {}), T0, POLICY)
    with pytest.raises(InvalidToken):
        decide(customer, VerifyEmail(digest("verify-1")), T0, POLICY)
    _, event = decide(customer, VerifyEmail(digest("verify-2")), T0, POLICY)
    assert event is not None


def test_an_email_change_voids_the_pending_verification() -> None:
    customer, _ = decide(registered(), UpdateCustomer({"email": "new@example.com"}), T0, POLICY)
    with pytest.raises(InvalidToken):
        decide(customer, VerifyEmail(digest("verify-1")), T0, POLICY)


def test_a_password_reset_replaces_the_hash_once_within_the_hour() -> None:
    customer = registered()
    customer, _ = decide(customer, RequestPasswordReset(digest("reset-1"), {}), T0, POLICY)
    late = T0 + POLICY.password_reset_ttl + timedelta(seconds=1)
    with pytest.raises(InvalidToken):
        decide(customer, ResetPassword(digest("reset-1"), "$2b$new"), late, POLICY)
    after, event = decide(customer, ResetPassword(digest("reset-1"), "$2b$new"), T0, POLICY)
    assert event is not None
    assert event.type == PASSWORD_CHANGED
    assert after.credentials.password_hash == "$2b$new"
    with pytest.raises(InvalidToken):
        decide(after, ResetPassword(digest("reset-1"), "$2b$again"), T0, POLICY)
