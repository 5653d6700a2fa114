"""Registration, login, two-factor authentication, email and password tokens.

The flows are service/sign_in.py's; a route reads the body and shows the answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from service.actor_replies import tag_version
from service.auth import OwnerOrAdmin
from service.dependencies import SignInFlows
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
# A customer's own settings: that customer, or an admin.
own = APIRouter(prefix="/{customer_id}", dependencies=[OwnerOrAdmin])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=CustomerReply)
async def register(body: RegisterRequest, sign_in: SignInFlows, response: Response) -> Any:
    """Sign up: the customer starts pending verification; an email token goes out
    (sealed in the ``customer.registered`` event, for the notification service)."""
    customer_id = str(uuid.uuid4())
    profile = body.to_profile(customer_id)
    shown = await sign_in.register(profile, body.password.get_secret_value())
    response.headers["Location"] = f"{router.prefix}/{customer_id}"
    tag_version(response, shown.version)
    return {"customer": shown.customer}


@router.post("/login", response_model=AccessTokenReply | SecondFactorRequired)
async def login(body: LoginRequest, sign_in: SignInFlows) -> Any:
    """A password login; with 2FA on, the answer is a challenge for /login/2fa."""
    return await sign_in.login(body.email, body.password.get_secret_value())


@router.post("/login/2fa", response_model=AccessTokenReply)
async def login_second_factor(body: LoginChallengeRequest, sign_in: SignInFlows) -> Any:
    challenge = body.challenge.get_secret_value()
    return await sign_in.complete_login(challenge, body.code, body.recovery_code)


@own.post("/2fa/enable", status_code=status.HTTP_201_CREATED, response_model=TotpEnrollmentReply)
async def enable_two_factor(customer_id: uuid.UUID, sign_in: SignInFlows) -> Any:
    """Start enrollment: a new secret and recovery codes, shown this once.
    Nothing is enforced until /2fa/verify confirms a code from the app."""
    return await sign_in.enable_two_factor(str(customer_id))


@own.post("/2fa/verify", response_model=TwoFactorReply)
async def verify_two_factor(
    customer_id: uuid.UUID, body: TotpCodeRequest, sign_in: SignInFlows, response: Response
) -> Any:
    version = await sign_in.confirm_two_factor(str(customer_id), body.code)
    tag_version(response, version)
    return {"two_factor_enabled": True, "version": version}


@own.post("/2fa/disable", response_model=TwoFactorReply)
async def disable_two_factor(
    customer_id: uuid.UUID, body: SecondFactorRequest, sign_in: SignInFlows, response: Response
) -> Any:
    version = await sign_in.disable_two_factor(str(customer_id), body.code, body.recovery_code)
    tag_version(response, version)
    return {"two_factor_enabled": False, "version": version}


@own.post("/email-verification", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def request_email_verification(customer_id: uuid.UUID, sign_in: SignInFlows) -> Any:
    """Send a new verification token (it voids the previous one)."""
    await sign_in.request_email_verification(str(customer_id))
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
    responses={503: {"description": "the claim store cannot be read (for any email)"}},
)
async def request_password_reset(body: PasswordResetRequest, sign_in: SignInFlows) -> Any:
    """Always 202 once the email could be looked up: whether it belongs to a
    customer is not disclosed. When the claim store cannot be read at all, the
    answer is 503 whatever the email, which tells nothing about it."""
    await sign_in.request_password_reset(body.email)
    return {"status": "accepted"}


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_password_reset(body: PasswordResetConfirm, sign_in: SignInFlows) -> None:
    token = body.token.get_secret_value()
    await sign_in.confirm_password_reset(token, body.new_password.get_secret_value())


router.include_router(own)
