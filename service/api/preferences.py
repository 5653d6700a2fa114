"""Preference routes: /api/v1/customers/{customer_id}/preferences."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from actors.customer_protocol import GET_PREFERENCES, UPDATE_PREFERENCES, PreferencesShown, Read
from domain.commands import UpdatePreferences
from service.actor_replies import tag_version
from service.auth import OwnerAdminOrReader, OwnerOrAdmin
from service.dependencies import Customers
from service.preconditions import IfMatch
from service.schemas import PreferencesReply, PreferencesUpdate

router = APIRouter(
    prefix="/api/v1/customers/{customer_id}/preferences",
    tags=["preferences"],
)


def _present(response: Response, shown: PreferencesShown) -> dict[str, Any]:
    tag_version(response, shown.version)
    return {"preferences": shown.preferences, "version": shown.version}


@router.get("", response_model=PreferencesReply, dependencies=[OwnerAdminOrReader])
async def get_preferences(customer_id: uuid.UUID, customers: Customers, response: Response) -> Any:
    return _present(response, await customers.ask(str(customer_id), GET_PREFERENCES, Read()))


@router.patch("", response_model=PreferencesReply, dependencies=[OwnerOrAdmin])
async def update_preferences(
    customer_id: uuid.UUID,
    body: PreferencesUpdate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> Any:
    """Change some flags; each flag that changes records when and from which source."""
    command = UpdatePreferences(
        flags=body.flags(),
        custom_preferences=body.custom_preferences,
        source=body.source,
        if_match=if_match,
    )
    shown = await customers.ask(str(customer_id), UPDATE_PREFERENCES, command)
    return _present(response, shown)
