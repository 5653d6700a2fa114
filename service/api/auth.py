"""Registration, login, two-factor authentication, email and password tokens,
and the sensitive changes of a signed-in customer (each with the password again).

The flows are service/sign_in.py's and service/step_up.py's; a route reads the
body and shows the answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from service.actor_replies import tag_version
from service.auth import OwnerOrAdmin
from service.dependencies import Caller, ClientInfo, SignInFlows, StepUpFlows
from service.features import TwoFactorEnrollmentOpen
from service.schemas import (
    Accepted,
    AccessTokenReply,
    CustomerReply,
    DisableTwoFactorRequest,
    EmailChangeRequest,
    LoginChallengeRequest,
    LoginRequest,
    PasswordChangeRequest,
    PasswordConfirmation,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
    SecondFactorRequired,
    TokenRequest,
    TotpCodeRequest,
    TotpEnrollmentReply,
    TwoFactorReply,
)

router = APIRouter(prefix="/api/v1/customers", tags=["sign-in"])
# A customer's own settings: that customer, or an admin.
own = APIRouter(prefix="/{customer_id}", dependencies=[OwnerOrAdmin])

_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many attempts from this address or at this account"}
}
_STEP_UP: dict[int | str, dict[str, Any]] = {
    403: {"description": "the password is wrong (wrong-password), or not allowed"},
    423: {"description": "too many wrong passwords: step-up changes are locked a while"},
}


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=_THROTTLED,
)
async def register(body: RegisterRequest, sign_in: SignInFlows, client: ClientInfo) -> Any:
    """Sign up. The same answer whether the email is free or taken: an email
    token goes to a new customer (sealed in ``customer.registered``), and the
    owner of a taken address is told that someone tried
    (``customer.registration_attempted``); no second account is made."""
    profile = body.to_profile(str(uuid.uuid4()))
    await sign_in.register(profile, body.password.get_secret_value(), client)
    return {"status": "accepted"}


@router.post("/login", response_model=AccessTokenReply | SecondFactorRequired, responses=_THROTTLED)
async def login(body: LoginRequest, sign_in: SignInFlows, client: ClientInfo) -> Any:
    """A password login: an access token and a refresh token; with 2FA on, a
    challenge for /login/2fa."""
    return await sign_in.login(body.email, body.password.get_secret_value(), client)


@router.post("/login/2fa", response_model=AccessTokenReply, responses=_THROTTLED)
async def login_second_factor(
    body: LoginChallengeRequest, sign_in: SignInFlows, client: ClientInfo
) -> Any:
    challenge = body.challenge.get_secret_value()
    return await sign_in.complete_login(challenge, body.code, body.recovery_code, client)


@own.post(
    "/2fa/enable",
    status_code=status.HTTP_201_CREATED,
    response_model=TotpEnrollmentReply,
    dependencies=[TwoFactorEnrollmentOpen],
)
async def enable_two_factor(
    customer_id: uuid.UUID, body: PasswordConfirmation, step_up: StepUpFlows, caller: Caller
) -> Any:
    """Start enrollment (the password again): a new secret and recovery codes,
    shown this once. Nothing is enforced until /2fa/verify confirms a code."""
    password = body.password.get_secret_value()
    return await step_up.enable_two_factor(str(customer_id), password, caller.access)


@own.post("/2fa/verify", response_model=TwoFactorReply, dependencies=[TwoFactorEnrollmentOpen])
async def verify_two_factor(
    customer_id: uuid.UUID,
    body: TotpCodeRequest,
    step_up: StepUpFlows,
    response: Response,
    caller: Caller,
) -> Any:
    """2FA is on; every session ends (sign in again, with a code)."""
    version = await step_up.confirm_two_factor(str(customer_id), body.code, caller.access)
    tag_version(response, version)
    return {"two_factor_enabled": True, "version": version}


@own.post("/2fa/disable", response_model=TwoFactorReply)
async def disable_two_factor(
    customer_id: uuid.UUID,
    body: DisableTwoFactorRequest,
    step_up: StepUpFlows,
    response: Response,
    caller: Caller,
) -> Any:
    """The password and a code (or a recovery code); every session ends."""
    factor = (body.code, body.recovery_code)
    password = body.password.get_secret_value()
    version = await step_up.disable_two_factor(str(customer_id), password, factor, caller.access)
    tag_version(response, version)
    return {"two_factor_enabled": False, "version": version}


@own.post("/email-verification", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def request_email_verification(
    customer_id: uuid.UUID, sign_in: SignInFlows, caller: Caller
) -> Any:
    """Send a new verification token (it voids the previous one); at most
    ``CUSTOMER_DELIVERIES_PER_HOUR`` an hour, the answer the same beyond."""
    await sign_in.request_email_verification(str(customer_id), caller.access)
    return {"status": "accepted"}


@router.post("/email-verification/confirm", response_model=CustomerReply)
async def confirm_email(body: TokenRequest, sign_in: SignInFlows, response: Response) -> Any:
    shown = await sign_in.confirm_email(body.token.get_secret_value())
    tag_version(response, shown.version)
    return {"customer": shown.customer}


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=_THROTTLED,
)
async def request_password_reset(
    body: PasswordResetRequest, sign_in: SignInFlows, client: ClientInfo
) -> Any:
    """Always 202 (unless throttled, alike for every email): whether the email
    belongs to a customer is not disclosed, and the token (at most
    ``CUSTOMER_DELIVERIES_PER_HOUR`` an hour per email) goes out after the answer."""
    await sign_in.request_password_reset(body.email, client)
    return {"status": "accepted"}


@router.post(
    "/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT, responses=_THROTTLED
)
async def confirm_password_reset(
    body: PasswordResetConfirm, sign_in: SignInFlows, client: ClientInfo
) -> None:
    """The new password; every session ends, and a lockout of the email lifts."""
    token = body.token.get_secret_value()
    await sign_in.confirm_password_reset(token, body.new_password.get_secret_value(), client)


# -- step-up: a sensitive change needs the password again ----------------------------------


@own.post("/password", status_code=status.HTTP_204_NO_CONTENT, responses=_STEP_UP)
async def change_password(
    customer_id: uuid.UUID, body: PasswordChangeRequest, step_up: StepUpFlows, caller: Caller
) -> None:
    """The current password and a new one. Every session ends (sign in again), and
    ``customer.password_changed`` lets the notification service tell the customer."""
    await step_up.change_password(
        str(customer_id),
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
        caller.access,
    )


@own.post(
    "/email-change",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=_STEP_UP,
)
async def request_email_change(
    customer_id: uuid.UUID, body: EmailChangeRequest, step_up: StepUpFlows, caller: Caller
) -> Any:
    """A new email, with the password: a token goes to the new address (sealed in
    ``customer.email_change_requested``); nothing changes until it comes back."""
    password = body.password.get_secret_value()
    await step_up.request_email_change(str(customer_id), body.new_email, password, caller.access)
    return {"status": "accepted"}


@router.post("/email-change/confirm", response_model=CustomerReply)
async def confirm_email_change(body: TokenRequest, step_up: StepUpFlows, response: Response) -> Any:
    """The token from the new address: it is the customer's email now, verified.
    Every session ends; ``customer.email_changed`` names the old address."""
    shown = await step_up.confirm_email_change(body.token.get_secret_value())
    tag_version(response, shown.version)
    return {"customer": shown.customer}


router.include_router(own)
