"""Erasure routes: /api/v1/customers/{customer_id}/erasure (README "Data protection")."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from actors.customer_protocol import CANCEL_ERASURE
from domain.commands import CancelErasure
from domain.errors import FieldError
from service.actor_replies import tag_version
from service.auth import Owner
from service.dependencies import Customers, StepUpFlows
from service.problems import validation_failed
from service.schemas import ErasureReply, ErasureRequest

router = APIRouter(prefix="/api/v1/customers/{customer_id}/erasure", tags=["data protection"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ErasureReply)
async def request_erasure(
    customer_id: uuid.UUID,
    body: ErasureRequest,
    step_up: StepUpFlows,
    response: Response,
    caller: Owner,
) -> Any:
    """Erase the customer's personal data after the grace period
    (``CUSTOMER_ERASURE_GRACE_DAYS``); cancel it with DELETE until then. The
    customer gives its password; an admin may ask for it ``immediate``."""
    if not caller.is_admin:
        errors = []
        if body.password is None:
            errors.append(FieldError("password", "is missing", "missing"))
        if body.immediate:
            errors.append(FieldError("immediate", "only an admin may erase at once", "forbidden"))
        if errors:
            raise validation_failed(errors)
    password = body.password.get_secret_value() if body.password is not None else None
    shown = await step_up.request_erasure(
        str(customer_id), password, body.immediate, None if caller.is_admin else caller.access
    )
    tag_version(response, shown.version)
    return {"scheduled_for": shown.scheduled_for, "erased": shown.erased, "version": shown.version}


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_erasure(
    customer_id: uuid.UUID, customers: Customers, response: Response, caller: Owner
) -> None:
    """Cancel the erasure while it is pending (409 if none is)."""
    shown = await customers.ask(str(customer_id), CANCEL_ERASURE, CancelErasure())
    tag_version(response, shown.version)
