"""Decisions on signing in: registration, login with lockout, TOTP, tokens.

Every attempt is a decision of the customer's actor, so attempts on one
account are serialized and counted exactly. Failures are changes too (they
count towards a lockout), so they commit and publish like any other change;
the event says what happened and never carries a secret.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime
from typing import Literal

from domain.commands import (
    AttemptLogin,
    CompleteLogin,
    ConfirmTotp,
    DisableTotp,
    RegisterCustomer,
    RequestEmailVerification,
    RequestPasswordReset,
    ResetPassword,
    StartTotpEnrollment,
    VerifyEmail,
)
from domain.credentials import Challenge, Credentials, PendingToken, SealedSecret, Totp
from domain.errors import (
    AccountDisabled,
    AccountLocked,
    AlreadyVerified,
    InvalidChallenge,
    InvalidCredentials,
    InvalidSecondFactor,
    InvalidToken,
    TwoFactorState,
)
from domain.events import (
    CUSTOMER_LOCKED,
    CUSTOMER_REGISTERED,
    EMAIL_VERIFICATION_REQUESTED,
    EMAIL_VERIFIED,
    LOGGED_IN,
    LOGIN_FAILED,
    PASSWORD_CHANGED,
    PASSWORD_RESET_REQUESTED,
    SECOND_FACTOR_REQUESTED,
    TOTP_DISABLED,
    TOTP_ENABLED,
    TOTP_ENROLLMENT_STARTED,
)
from domain.model import Customer, CustomerStatus, timestamp
from domain.policy import Policy
from domain.profile import decide_create
from domain.transitions import Decision, advance, changed, require_live
from domain.unique_keys import normalize_email

_SIGN_IN_BLOCKED = frozenset({CustomerStatus.INACTIVE, CustomerStatus.SUSPENDED})


def _same(digest: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(digest, expected)


def _with(customer: Customer, now: datetime, **changes: object) -> Customer:
    credentials = dataclasses.replace(customer.credentials, **changes)  # type: ignore[arg-type]
    return advance(customer, now, credentials=credentials)


def _enrolled(state: Customer | None) -> tuple[Customer, Totp | None]:
    """The live customer and its TOTP enrollment, if any."""
    customer = require_live(state, None)
    return customer, customer.credentials.totp


def _refuse_if_locked(customer: Customer, now: datetime) -> None:
    until = customer.credentials.locked_until
    if until is not None and until > now:
        seconds = max(1, int((until - now).total_seconds()))
        # Said the same way whatever the password was.
        raise AccountLocked(f"too many failed attempts; try again in {seconds} s", seconds)


def _failure(customer: Customer, now: datetime, policy: Policy, **changes: object) -> Decision:
    """One more failure in a row; the threshold-th locks the account."""
    credentials = dataclasses.replace(customer.credentials, **changes)  # type: ignore[arg-type]
    failures = credentials.failed_attempts + 1
    if failures < policy.lockout_threshold:
        credentials = dataclasses.replace(credentials, failed_attempts=failures)
        return changed(LOGIN_FAILED, customer, advance(customer, now, credentials=credentials), now)
    lockouts = credentials.lockouts + 1
    period = min(policy.lockout_base * 2 ** (lockouts - 1), policy.lockout_max)
    credentials = dataclasses.replace(
        credentials,
        failed_attempts=0,
        lockouts=lockouts,
        locked_until=now + period,
        challenge=None,
    )
    after = advance(customer, now, credentials=credentials)
    return changed(CUSTOMER_LOCKED, customer, after, now, locked_until=timestamp(now + period))


def _signed_in(customer: Customer, now: datetime, **changes: object) -> Decision:
    credentials = dataclasses.replace(
        customer.credentials,
        failed_attempts=0,
        lockouts=0,
        locked_until=None,
        challenge=None,
        **changes,  # type: ignore[arg-type]
    )
    after = advance(customer, now, credentials=credentials, last_login_at=now)
    return changed(LOGGED_IN, customer, after, now)


def decide_register(
    state: Customer | None, command: RegisterCustomer, now: datetime, policy: Policy
) -> Decision:
    created, _ = decide_create(state, command.profile, now, policy)
    credentials = Credentials(
        password_hash=command.password_hash,
        email_verification=PendingToken(
            command.verification_digest, now + policy.email_verification_ttl
        ),
    )
    customer = dataclasses.replace(created, credentials=credentials)
    return changed(CUSTOMER_REGISTERED, None, customer, now, delivery=command.delivery)


def decide_attempt_login(
    state: Customer | None, command: AttemptLogin, now: datetime, policy: Policy
) -> Decision:
    customer = state
    if (
        customer is None
        or customer.deleted
        or customer.credentials.password_hash is None
        or normalize_email(customer.email) != normalize_email(command.email)
    ):
        raise InvalidCredentials("email or password is wrong")
    _refuse_if_locked(customer, now)
    if not command.password_ok:
        return _failure(customer, now, policy)
    if customer.status in _SIGN_IN_BLOCKED:
        raise AccountDisabled(f"the account is {customer.status.value.lower()}")
    if customer.two_factor_enabled:
        challenge = Challenge(command.challenge_digest, now + policy.challenge_ttl)
        after = _with(customer, now, challenge=challenge)
        return changed(SECOND_FACTOR_REQUESTED, customer, after, now)
    return _signed_in(customer, now)


def _factor_ok(totp: Totp, step: int | None, recovery_digest: str | None) -> dict[str, object]:
    """What accepting the factor changes in ``totp``, or raise if it is not valid."""
    if step is not None and (totp.last_step is None or step > totp.last_step):
        return {"last_step": step}
    if recovery_digest is not None:
        for kept in totp.recovery_digests:
            if hmac.compare_digest(kept, recovery_digest):
                left = tuple(d for d in totp.recovery_digests if d != kept)
                return {"recovery_digests": left}  # single use
    # A wrong code, or a right one already used (a replay).
    raise InvalidSecondFactor("the code is wrong or was already used")


def decide_complete_login(
    state: Customer | None, command: CompleteLogin, now: datetime, policy: Policy
) -> Decision:
    customer = state
    challenge = customer.credentials.challenge if customer else None
    if (
        customer is None
        or customer.deleted
        or challenge is None
        or not _same(command.challenge_digest, challenge.digest)
        or challenge.expires_at <= now
        or customer.credentials.totp is None
    ):
        raise InvalidChallenge("the login challenge is unknown, used or expired")
    _refuse_if_locked(customer, now)
    if customer.status in _SIGN_IN_BLOCKED:
        raise AccountDisabled(f"the account is {customer.status.value.lower()}")
    totp = customer.credentials.totp
    try:
        accepted = _factor_ok(totp, command.totp_step, command.recovery_digest)
    except InvalidSecondFactor:
        failures = challenge.failures + 1
        kept = (
            None
            if failures >= policy.challenge_max_failures
            else (dataclasses.replace(challenge, failures=failures))
        )
        return _failure(customer, now, policy, challenge=kept)
    return _signed_in(customer, now, totp=dataclasses.replace(totp, **accepted))  # type: ignore[arg-type]


def decide_start_totp(
    state: Customer | None, command: StartTotpEnrollment, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    if customer.two_factor_enabled:
        raise TwoFactorState("two-factor authentication is already enabled")
    totp = Totp(
        secret=SealedSecret(command.key_id, command.sealed_secret),
        enabled=False,
        last_step=None,
        recovery_digests=command.recovery_digests,
    )
    return changed(TOTP_ENROLLMENT_STARTED, customer, _with(customer, now, totp=totp), now)


def decide_confirm_totp(
    state: Customer | None, command: ConfirmTotp, now: datetime, policy: Policy
) -> Decision:
    customer, totp = _enrolled(state)
    if totp is None:
        raise TwoFactorState("start the enrollment first (POST .../2fa/enable)")
    if totp.enabled:
        raise TwoFactorState("two-factor authentication is already enabled")
    if command.totp_step is None:
        raise InvalidSecondFactor("the code is wrong")
    enabled = dataclasses.replace(totp, enabled=True, last_step=command.totp_step)
    return changed(TOTP_ENABLED, customer, _with(customer, now, totp=enabled), now)


def decide_disable_totp(
    state: Customer | None, command: DisableTotp, now: datetime, policy: Policy
) -> Decision:
    customer, totp = _enrolled(state)
    if totp is None or not totp.enabled:
        raise TwoFactorState("two-factor authentication is not enabled")
    _refuse_if_locked(customer, now)
    try:
        _factor_ok(totp, command.totp_step, command.recovery_digest)
    except InvalidSecondFactor:
        # Guessing codes with a stolen session counts like guessing passwords.
        return _failure(customer, now, policy)
    return changed(TOTP_DISABLED, customer, _with(customer, now, totp=None), now)


def decide_request_email_verification(
    state: Customer | None, command: RequestEmailVerification, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    if customer.email_verified:
        raise AlreadyVerified("the email is already verified")
    token = PendingToken(command.digest, now + policy.email_verification_ttl)
    after = _with(customer, now, email_verification=token)  # a new token voids the old one
    return changed(EMAIL_VERIFICATION_REQUESTED, customer, after, now, delivery=command.delivery)


def _redeem(
    state: Customer | None,
    kind: Literal["email_verification", "password_reset"],
    digest: str,
    now: datetime,
) -> Customer:
    """The live customer whose pending ``kind`` token has ``digest`` and has not
    expired; every other case gets the same refusal."""
    token = getattr(state.credentials, kind) if state else None
    if (
        state is None
        or state.deleted
        or token is None
        or not _same(digest, token.digest)
        or token.expires_at <= now
    ):
        raise InvalidToken("the token is unknown, used or expired")
    return state


def decide_verify_email(
    state: Customer | None, command: VerifyEmail, now: datetime, policy: Policy
) -> Decision:
    customer = _redeem(state, "email_verification", command.digest, now)
    status = customer.status
    if status is CustomerStatus.PENDING_VERIFICATION:
        status = CustomerStatus.ACTIVE
    credentials = dataclasses.replace(customer.credentials, email_verification=None)
    after = advance(customer, now, email_verified=True, status=status, credentials=credentials)
    return changed(EMAIL_VERIFIED, customer, after, now)


def decide_request_password_reset(
    state: Customer | None, command: RequestPasswordReset, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    token = PendingToken(command.digest, now + policy.password_reset_ttl)
    after = _with(customer, now, password_reset=token)
    return changed(PASSWORD_RESET_REQUESTED, customer, after, now, delivery=command.delivery)


def decide_reset_password(
    state: Customer | None, command: ResetPassword, now: datetime, policy: Policy
) -> Decision:
    customer = _redeem(state, "password_reset", command.digest, now)
    # Proving control of the mailbox also lifts a lockout.
    after = _with(
        customer,
        now,
        password_hash=command.password_hash,
        password_reset=None,
        failed_attempts=0,
        locked_until=None,
        challenge=None,
    )
    return changed(PASSWORD_CHANGED, customer, after, now)
