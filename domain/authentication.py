"""Decisions on signing in: registration, login, TOTP, tokens, step-up changes.

Every step is a decision of the customer's actor, so steps on one account are
serialized. A wrong password is not a change of the customer: it commits
nothing, and the sign-in flow counts it outside the document, alike for known
and unknown emails (domain/throttles.py). A wrong second factor is counted in
the login's challenge, which it commits. Changes that need the password again
(a new password, a new email, 2FA on or off) are told whether it was right.
Events say what happened and never carry a secret.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime
from typing import Literal

from domain.commands import (
    AttemptLogin,
    ChangePassword,
    CompleteLogin,
    ConfirmEmailChange,
    ConfirmTotp,
    DisableTotp,
    RegisterCustomer,
    RequestEmailChange,
    RequestEmailVerification,
    RequestPasswordReset,
    ResetPassword,
    StartTotpEnrollment,
    VerifyEmail,
)
from domain.credentials import (
    Challenge,
    Credentials,
    PendingEmailChange,
    PendingToken,
    SealedSecret,
    Totp,
)
from domain.errors import (
    AccountDisabled,
    AlreadyVerified,
    FieldError,
    InvalidChallenge,
    InvalidCredentials,
    InvalidFields,
    InvalidSecondFactor,
    InvalidToken,
    TwoFactorState,
    WrongPassword,
)
from domain.events import (
    CUSTOMER_REGISTERED,
    EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED,
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
from domain.model import Customer, CustomerStatus
from domain.policy import Policy
from domain.profile import decide_create
from domain.sessions import SIGN_IN_BLOCKED
from domain.transitions import Decision, advance, changed, require_live
from domain.unique_keys import normalize_email

INVALID_TOKEN = "the token is unknown, used or expired"  # noqa: S105 - a refusal


def _same(digest: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(digest, expected)


def _with(customer: Customer, now: datetime, **changes: object) -> Customer:
    credentials = dataclasses.replace(customer.credentials, **changes)  # type: ignore[arg-type]
    return advance(customer, now, credentials=credentials)


def _enrolled(state: Customer | None) -> tuple[Customer, Totp | None]:
    """The live customer and its TOTP enrollment, if any."""
    customer = require_live(state, None)
    return customer, customer.credentials.totp


def _refuse_blocked(customer: Customer) -> None:
    if customer.status in SIGN_IN_BLOCKED:
        raise AccountDisabled(f"the account is {customer.status.value.lower()}")


def _stepped_up(state: Customer | None, password_ok: bool) -> Customer:
    """The live customer, if the password that came with the change was right."""
    customer = require_live(state, None)
    if not password_ok:
        raise WrongPassword("the password is wrong")
    return customer


def _signed_in(customer: Customer, now: datetime, **changes: object) -> Decision:
    credentials = dataclasses.replace(customer.credentials, challenge=None, **changes)  # type: ignore[arg-type]
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
    """A wrong password (or no such customer) changes nothing: the flow counts it."""
    customer = state
    if (
        customer is None
        or customer.deleted
        or customer.credentials.password_hash is None
        or normalize_email(customer.email) != normalize_email(command.email)
        or not command.password_ok
    ):
        raise InvalidCredentials("email or password is wrong")
    _refuse_blocked(customer)
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
    _refuse_blocked(customer)
    totp = customer.credentials.totp
    try:
        accepted = _factor_ok(totp, command.totp_step, command.recovery_digest)
    except InvalidSecondFactor:
        # Counted in the challenge, which the right password made: the last one voids it.
        failures = challenge.failures + 1
        kept = None
        if failures < policy.challenge_max_failures:
            kept = dataclasses.replace(challenge, failures=failures)
        return changed(LOGIN_FAILED, customer, _with(customer, now, challenge=kept), now)
    return _signed_in(customer, now, totp=dataclasses.replace(totp, **accepted))  # type: ignore[arg-type]


def decide_start_totp(
    state: Customer | None, command: StartTotpEnrollment, now: datetime, policy: Policy
) -> Decision:
    customer = _stepped_up(state, command.password_ok)
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
    """Both factors: the password and a code (or a recovery code). A wrong one
    changes nothing; the flow counts it against the account's step-up."""
    customer, totp = _enrolled(state)
    if totp is None or not totp.enabled:
        raise TwoFactorState("two-factor authentication is not enabled")
    _stepped_up(customer, command.password_ok)
    _factor_ok(totp, command.totp_step, command.recovery_digest)
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


Redeemable = Literal["email_verification", "password_reset", "email_change"]


def redeemable(state: Customer | None, kind: Redeemable, digest: str, now: datetime) -> bool:
    """Is ``digest`` the live customer's pending ``kind`` token, unexpired?"""
    token = getattr(state.credentials, kind) if state else None
    return (
        state is not None
        and not state.deleted
        and token is not None
        and _same(digest, token.digest)
        and token.expires_at > now
    )


def _redeem(state: Customer | None, kind: Redeemable, digest: str, now: datetime) -> Customer:
    """The customer whose ``kind`` token this is; every other case gets the same refusal."""
    if state is None or not redeemable(state, kind, digest, now):
        raise InvalidToken(INVALID_TOKEN)
    return state


def _verified(customer: Customer) -> CustomerStatus:
    """The status once the customer's address is proven."""
    if customer.status is CustomerStatus.PENDING_VERIFICATION:
        return CustomerStatus.ACTIVE
    return customer.status


def decide_verify_email(
    state: Customer | None, command: VerifyEmail, now: datetime, policy: Policy
) -> Decision:
    customer = _redeem(state, "email_verification", command.digest, now)
    credentials = dataclasses.replace(customer.credentials, email_verification=None)
    after = advance(
        customer, now, email_verified=True, status=_verified(customer), credentials=credentials
    )
    return changed(EMAIL_VERIFIED, customer, after, now)


def decide_request_password_reset(
    state: Customer | None, command: RequestPasswordReset, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    token = PendingToken(command.digest, now + policy.password_reset_ttl)
    after = _with(customer, now, password_reset=token)
    return changed(PASSWORD_RESET_REQUESTED, customer, after, now, delivery=command.delivery)


def _new_password(customer: Customer, password_hash: str, now: datetime) -> Decision:
    """A new password: a reset link sent before is void, and so is a pending
    login challenge (its password was the old one)."""
    after = _with(customer, now, password_hash=password_hash, password_reset=None, challenge=None)
    return changed(PASSWORD_CHANGED, customer, after, now)


def decide_reset_password(
    state: Customer | None, command: ResetPassword, now: datetime, policy: Policy
) -> Decision:
    customer = _redeem(state, "password_reset", command.digest, now)
    return _new_password(customer, command.password_hash, now)


def decide_change_password(
    state: Customer | None, command: ChangePassword, now: datetime, policy: Policy
) -> Decision:
    customer = _stepped_up(state, command.password_ok)
    if command.password_hash is None:
        raise InvalidFields([FieldError("new_password", "is missing", "missing")])
    return _new_password(customer, command.password_hash, now)


def decide_request_email_change(
    state: Customer | None, command: RequestEmailChange, now: datetime, policy: Policy
) -> Decision:
    """The new address changes nothing until the token sent there comes back."""
    customer = _stepped_up(state, command.password_ok)
    if normalize_email(command.new_email) == normalize_email(customer.email):
        unchanged = FieldError("new_email", "is the customer's email already", "unchanged")
        raise InvalidFields([unchanged])
    pending = PendingEmailChange(
        command.digest, command.new_email, now + policy.email_verification_ttl
    )
    after = _with(customer, now, email_change=pending)  # a new request voids the older one
    extra = {"new_email": command.new_email, "delivery": command.delivery}
    return changed(EMAIL_CHANGE_REQUESTED, customer, after, now, **extra)


def decide_confirm_email_change(
    state: Customer | None, command: ConfirmEmailChange, now: datetime, policy: Policy
) -> Decision:
    """The token came back from the new address: it is the email now, and verified."""
    customer = _redeem(state, "email_change", command.digest, now)
    pending = customer.credentials.email_change
    assert pending is not None  # redeemed
    credentials = dataclasses.replace(
        customer.credentials, email_change=None, email_verification=None, password_reset=None
    )
    after = advance(
        customer,
        now,
        email=pending.new_email,
        email_verified=True,
        status=_verified(customer),
        credentials=credentials,
    )
    return changed(EMAIL_CHANGED, customer, after, now)
