"""Sessions: refresh, logout, a customer's sessions and their revocation.

The flows are service/sessions.py's.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from service.auth import OwnerOrAdmin
from service.dependencies import Caller, SessionFlowsDep
from service.schemas import AccessTokenReply, RefreshRequest, SessionList

router = APIRouter(prefix="/api/v1/customers", tags=["sessions"])


@router.post(
    "/token/refresh",
    response_model=AccessTokenReply,
    responses={401: {"description": "unknown, used, expired, or its session ended"}},
)
async def refresh(body: RefreshRequest, sessions: SessionFlowsDep) -> Any:
    """A new access token and refresh token. The refresh token is single use: one
    used again after a few seconds (two refreshes of one client may cross) ends
    its whole session."""
    return await sessions.refresh(body.refresh_token.get_secret_value())


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(caller: Caller, sessions: SessionFlowsDep) -> None:
    """The session of this access token ends: it and its refresh token stop working."""
    await sessions.logout(caller)


@router.get("/{customer_id}/sessions", response_model=SessionList, dependencies=[OwnerOrAdmin])
async def list_sessions(customer_id: uuid.UUID, caller: Caller, sessions: SessionFlowsDep) -> Any:
    """The customer's live sessions: when each began and was last refreshed, from
    which user agent (nothing secret)."""
    listed = await sessions.listed(str(customer_id))
    return {
        "sessions": [
            {
                "id": view.id,
                "created_at": view.created_at,
                "last_used_at": view.last_used_at,
                "user_agent": view.user_agent,
                "current": view.id == caller.session_id,
            }
            for view in listed
        ]
    }


@router.post(
    "/{customer_id}/sessions/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[OwnerOrAdmin],
)
async def revoke_sessions(customer_id: uuid.UUID, sessions: SessionFlowsDep) -> None:
    """Every session of the customer ends, this one included."""
    await sessions.revoke(str(customer_id))
