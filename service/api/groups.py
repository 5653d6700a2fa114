"""Customer group routes: /api/v1/customer-groups.

Any signed-in caller lists them; an admin creates, changes, retires
(``active: false``) and deletes them. Changes go to the one registry actor
(actors/group_registry.py); reads come from its committed document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from actors.group_registry import CREATE_GROUP, DELETE_GROUP, UPDATE_GROUP, GroupShown
from domain.groups import REGISTRY_ID, CreateGroup, DeleteGroup, UpdateGroup
from service.actor_replies import tag_version
from service.auth import AdminOnly, Caller
from service.dependencies import GroupActors, GroupsRead
from service.preconditions import IfMatch
from service.schemas import (
    CustomerGroupCreate,
    CustomerGroupList,
    CustomerGroupReply,
    CustomerGroupUpdate,
)

router = APIRouter(prefix="/api/v1/customer-groups", tags=["customer groups"])

GroupId = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _shown(response: Response, shown: GroupShown) -> dict[str, Any]:
    tag_version(response, shown.version)
    return {"customer_group": shown.group}


@router.get("", response_model=CustomerGroupList)
async def list_groups(reads: GroupsRead, caller: Caller) -> Any:
    """Every group, retired ones too (``active: false``: given to no one any more)."""
    registry = await reads.registry()
    return {"customer_groups": [group.to_document() for group in registry.groups]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerGroupReply,
    dependencies=[AdminOnly],
)
async def create_group(body: CustomerGroupCreate, groups: GroupActors, response: Response) -> Any:
    command = CreateGroup(
        id=body.id, name=body.name, description=body.description, attributes=body.attributes
    )
    shown = await groups.ask(REGISTRY_ID, CREATE_GROUP, command)
    response.headers["Location"] = f"{router.prefix}/{body.id}"
    return _shown(response, shown)


@router.get("/{group_id}", response_model=CustomerGroupReply, dependencies=[AdminOnly])
async def get_group(group_id: GroupId, reads: GroupsRead, response: Response) -> Any:
    group = await reads.one(group_id)
    tag_version(response, group.version)
    return {"customer_group": group.to_document()}


@router.patch("/{group_id}", response_model=CustomerGroupReply, dependencies=[AdminOnly])
async def update_group(
    group_id: GroupId,
    body: CustomerGroupUpdate,
    groups: GroupActors,
    response: Response,
    if_match: IfMatch,
) -> Any:
    """Change the name, description or attributes; ``active: false`` retires the
    group (no customer is given it any more), ``true`` brings it back."""
    command = UpdateGroup(id=group_id, changes=body.to_changes(), if_match=if_match)
    return _shown(response, await groups.ask(REGISTRY_ID, UPDATE_GROUP, command))


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminOnly])
async def delete_group(
    group_id: GroupId,
    groups: GroupActors,
    reads: GroupsRead,
    response: Response,
    if_match: IfMatch,
) -> None:
    """Only a retired group, a settle window after its retirement, that the read
    model shows no customer in (soft-deleted ones too)."""
    checked_at = datetime.now(UTC)  # before the read: it sees at least what was projected by then
    in_use = await reads.in_use(group_id)
    command = DeleteGroup(id=group_id, in_use=in_use, if_match=if_match, checked_at=checked_at)
    tag_version(response, (await groups.ask(REGISTRY_ID, DELETE_GROUP, command)).version)
