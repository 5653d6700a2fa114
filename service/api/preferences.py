"""Preference routes: /api/v1/customers/{customer_id}/preferences."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from actors.codec import encode
from domain.commands import UpdatePreferences
from service.actor_replies import call_customer, tag_version
from service.auth import OwnerAdminOrReader, OwnerOrAdmin
from service.dependencies import Actors
from service.preconditions import IfMatch
from service.schemas import PreferencesReply, PreferencesUpdate

router = APIRouter(
    prefix="/api/v1/customers/{customer_id}/preferences",
    tags=["preferences"],
)


def _present(response: Response, reply: dict[str, Any]) -> dict[str, Any]:
    tag_version(response, reply["version"])
    return {"preferences": reply["preferences"], "version": reply["version"]}


@router.get("", response_model=PreferencesReply, dependencies=[OwnerAdminOrReader])
async def get_preferences(customer_id: uuid.UUID, actors: Actors, response: Response) -> Any:
    return _present(response, await call_customer(actors, str(customer_id), "get_preferences"))


@router.patch("", response_model=PreferencesReply, dependencies=[OwnerOrAdmin])
async def update_preferences(
    customer_id: uuid.UUID,
    body: PreferencesUpdate,
    actors: Actors,
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
    reply = await call_customer(actors, str(customer_id), "update_preferences", encode(command))
    return _present(response, reply)
