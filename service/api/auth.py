"""Registration, login, two-factor authentication, email and password tokens.

Routes compute what needs secrets the actor must not store in clear
(password hashes, token digests, sealed deliveries), call the customer's
actor, and turn its outcome into an answer. Access tokens are minted here,
after the actor has accepted the login.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response, status

from actors.codec import encode
from actors.invoker import SidecarUnavailable
from actors.sign_in import totp_context
from domain.commands import (
    RegisterCustomer,
    RequestEmailVerification,
    RequestPasswordReset,
    ResetPassword,
    StartTotpEnrollment,
    VerifyEmail,
)
from domain.events import CUSTOMER_LOCKED, LOGGED_IN, SECOND_FACTOR_REQUESTED, TOTP_DISABLED
from domain.unique_keys import email_key
from observability.logging import get_logger
from security import one_time, totp
from security.access_tokens import CUSTOMER
from security.passwords import hash_password
from service.actor_replies import call_customer, sidecar_unavailable, tag_version
from service.auth import OwnerOrAdmin
from service.deliveries import seal_delivery
from service.dependencies import Deps
from service.problems import Problem
from service.schemas import (
    Accepted,
    AccessTokenReply,
    CustomerReply,
    LoginChallengeRequest,
    LoginRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
    SecondFactorRequest,
    SecondFactorRequired,
    TokenRequest,
    TotpCodeRequest,
    TotpEnrollmentReply,
    TwoFactorReply,
)

router = APIRouter(prefix="/api/v1/customers", tags=["sign-in"])
log = get_logger(__name__)

_INVALID_CREDENTIALS = Problem(
    401, "invalid-credentials", "Email or password is wrong", "email or password is wrong"
)


_LOCKED = Problem(423, "locked", "Account temporarily locked", "too many failed attempts")


def _signed_in(deps: Deps, customer_id: str) -> dict[str, Any]:
    issuer = deps.auth.issuer
    token = issuer.issue(customer_id, [CUSTOMER], datetime.now(UTC))
    return {
        "access_token": token,
        "expires_in": int(issuer.lifetime.total_seconds()),
        "customer_id": customer_id,
    }


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=CustomerReply)
async def register(body: RegisterRequest, deps: Deps, response: Response) -> Any:
    """Sign up: the customer starts pending verification; an email token goes out
    (sealed in the ``customer.registered`` event, for the notification service)."""
    customer_id = str(uuid.uuid4())
    password_hash = await asyncio.to_thread(
        hash_password, body.password.get_secret_value(), deps.settings.bcrypt_cost
    )
    token = one_time.new_token(customer_id)
    command = RegisterCustomer(
        profile=body.to_profile(customer_id),
        password_hash=password_hash,
        verification_digest=one_time.digest(token),
        delivery=seal_delivery(
            deps.auth.notification_keys, "email_verification", customer_id, token
        ),
    )
    reply = await call_customer(deps.actors, customer_id, "register", encode(command))
    response.headers["Location"] = f"{router.prefix}/{customer_id}"
    tag_version(response, reply["customer"]["version"])
    return {"customer": reply["customer"]}


@router.post("/login", response_model=AccessTokenReply | SecondFactorRequired)
async def login(body: LoginRequest, deps: Deps) -> Any:
    """A password login; with 2FA on, the answer is a challenge for /login/2fa."""
    password = body.password.get_secret_value()
    try:
        holder = await deps.keys.holder(email_key(body.email))
    except SidecarUnavailable as exc:
        raise sidecar_unavailable() from exc
    if holder is None:
        await asyncio.to_thread(deps.auth.decoy.check, password)
        raise _INVALID_CREDENTIALS
    challenge = one_time.new_token(holder)
    attempt = {
        "email": body.email,
        "password": deps.auth.command_secrets.seal(holder, "password", password),
        "challenge_digest": one_time.digest(challenge),
    }
    reply = await call_customer(deps.actors, holder, "login", attempt)
    outcome = reply["outcome"]
    if outcome == LOGGED_IN:
        return _signed_in(deps, holder)
    if outcome == SECOND_FACTOR_REQUESTED:
        ttl = int(deps.auth.policy.challenge_ttl.total_seconds())
        return {"challenge": challenge, "expires_in": ttl}
    if outcome == CUSTOMER_LOCKED:
        raise _LOCKED
    raise _INVALID_CREDENTIALS


@router.post("/login/2fa", response_model=AccessTokenReply)
async def login_second_factor(body: LoginChallengeRequest, deps: Deps) -> Any:
    challenge = body.challenge.get_secret_value()
    customer_id = one_time.customer_of(challenge)
    if customer_id is None:
        raise Problem(401, "invalid-challenge", "The login challenge is not valid")
    attempt = {"challenge_digest": one_time.digest(challenge), **_factor(body, deps, customer_id)}
    reply = await call_customer(deps.actors, customer_id, "complete_login", attempt)
    if reply["outcome"] == LOGGED_IN:
        return _signed_in(deps, customer_id)
    if reply["outcome"] == CUSTOMER_LOCKED:
        raise _LOCKED
    raise Problem(401, "invalid-second-factor", "The code is wrong or was already used")


def _factor(body: SecondFactorRequest, deps: Deps, customer_id: str) -> dict[str, Any]:
    if body.recovery_code is not None:
        code = one_time.normalize_recovery_code(body.recovery_code)
        return {"recovery_digest": one_time.digest(code)}
    return _sealed_code(deps, customer_id, body.code)


def _sealed_code(deps: Deps, customer_id: str, code: str | None) -> dict[str, Any]:
    """A one-time code travels to the actor sealed for it alone."""
    if code is None:
        return {}
    return {"code": deps.auth.command_secrets.seal(customer_id, "code", code)}


@router.post(
    "/{customer_id}/2fa/enable",
    status_code=status.HTTP_201_CREATED,
    response_model=TotpEnrollmentReply,
    dependencies=[OwnerOrAdmin],
)
async def enable_two_factor(customer_id: uuid.UUID, deps: Deps) -> Any:
    """Start enrollment: a new secret and recovery codes, shown this once.
    Nothing is enforced until /2fa/verify confirms a code from the app."""
    secret = totp.new_secret()
    sealed = deps.auth.totp_keys.seal(secret.encode(), totp_context(str(customer_id)))
    codes = one_time.new_recovery_codes()
    command = StartTotpEnrollment(
        key_id=sealed.key_id,
        sealed_secret=sealed.ciphertext,
        recovery_digests=tuple(one_time.digest(one_time.normalize_recovery_code(c)) for c in codes),
    )
    reply = await call_customer(deps.actors, str(customer_id), "start_totp", encode(command))
    account = reply["customer"]["email"]
    return {
        "secret": secret,
        "otpauth_uri": totp.provisioning_uri(secret, account, deps.settings.totp_issuer),
        "recovery_codes": codes,
    }


@router.post(
    "/{customer_id}/2fa/verify", response_model=TwoFactorReply, dependencies=[OwnerOrAdmin]
)
async def verify_two_factor(
    customer_id: uuid.UUID, body: TotpCodeRequest, deps: Deps, response: Response
) -> Any:
    cid = str(customer_id)
    reply = await call_customer(
        deps.actors, cid, "confirm_totp", _sealed_code(deps, cid, body.code)
    )
    version = reply["customer"]["version"]
    tag_version(response, version)
    return {"two_factor_enabled": True, "version": version}


@router.post(
    "/{customer_id}/2fa/disable", response_model=TwoFactorReply, dependencies=[OwnerOrAdmin]
)
async def disable_two_factor(
    customer_id: uuid.UUID, body: SecondFactorRequest, deps: Deps, response: Response
) -> Any:
    cid = str(customer_id)
    reply = await call_customer(deps.actors, cid, "disable_totp", _factor(body, deps, cid))
    if reply["outcome"] == CUSTOMER_LOCKED:
        raise _LOCKED
    if reply["outcome"] != TOTP_DISABLED:
        raise Problem(422, "invalid-second-factor", "The code is wrong or was already used")
    tag_version(response, reply["version"])
    return {"two_factor_enabled": False, "version": reply["version"]}


@router.post(
    "/{customer_id}/email-verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    dependencies=[OwnerOrAdmin],
)
async def request_email_verification(customer_id: uuid.UUID, deps: Deps) -> Any:
    """Send a new verification token (it voids the previous one)."""
    cid = str(customer_id)
    token = one_time.new_token(cid)
    command = RequestEmailVerification(
        digest=one_time.digest(token),
        delivery=seal_delivery(deps.auth.notification_keys, "email_verification", cid, token),
    )
    await call_customer(deps.actors, cid, "request_email_verification", encode(command))
    return {"status": "accepted"}


@router.post("/email-verification/confirm", response_model=CustomerReply)
async def confirm_email(body: TokenRequest, deps: Deps, response: Response) -> Any:
    token = body.token.get_secret_value()
    customer_id = one_time.customer_of(token)
    if customer_id is None:
        raise Problem(400, "invalid-token", "The token is unknown, used or expired")
    command = VerifyEmail(digest=one_time.digest(token))
    reply = await call_customer(deps.actors, customer_id, "verify_email", encode(command))
    tag_version(response, reply["customer"]["version"])
    return {"customer": reply["customer"]}


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses={503: {"description": "the claim store cannot be read (for any email)"}},
)
async def request_password_reset(body: PasswordResetRequest, deps: Deps) -> Any:
    """Always 202 once the email could be looked up: whether it belongs to a
    customer is not disclosed, so nothing that happens only for a customer
    (the actor call, and its failure) may change the answer.

    The look-up itself is made for every email alike; when the claim store
    cannot be read at all, the answer is 503 whatever the email, which tells
    nothing about it."""
    try:
        holder = await deps.keys.holder(email_key(body.email))
    except SidecarUnavailable as exc:
        raise sidecar_unavailable() from exc
    if holder is not None:
        token = one_time.new_token(holder)
        command = RequestPasswordReset(
            digest=one_time.digest(token),
            delivery=seal_delivery(deps.auth.notification_keys, "password_reset", holder, token),
        )
        try:
            await deps.actors.call("Customer", holder, "request_password_reset", encode(command))
        except SidecarUnavailable as exc:
            # Logged for operators (no address, no token); the caller may try again.
            log.warning("password reset could not be requested", error=str(exc))
    return {"status": "accepted"}


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_password_reset(body: PasswordResetConfirm, deps: Deps) -> None:
    token = body.token.get_secret_value()
    customer_id = one_time.customer_of(token)
    if customer_id is None:
        raise Problem(400, "invalid-token", "The token is unknown, used or expired")
    password_hash = await asyncio.to_thread(
        hash_password, body.new_password.get_secret_value(), deps.settings.bcrypt_cost
    )
    command = ResetPassword(digest=one_time.digest(token), password_hash=password_hash)
    await call_customer(deps.actors, customer_id, "reset_password", encode(command))
