"""Sensitive changes of a signed-in customer: each needs the password again.

The flows are service/step_up.py's.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from service.actor_replies import tag_version
from service.auth import OwnerOrAdmin
from service.dependencies import Caller, StepUpFlows
from service.schemas import (
    Accepted,
    CustomerReply,
    EmailChangeRequest,
    PasswordChangeRequest,
    TokenRequest,
)

router = APIRouter(prefix="/api/v1/customers", tags=["sign-in"])
own = APIRouter(prefix="/{customer_id}", dependencies=[OwnerOrAdmin])

_STEP_UP: dict[int | str, dict[str, Any]] = {
    403: {"description": "the password is wrong (wrong-password), or not allowed"},
    423: {"description": "too many wrong passwords: step-up changes are locked a while"},
}


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
