"""Address routes (seed: /api/v1/customers/{customer_id}/addresses)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from actors.codec import encode
from domain.commands import AddAddress, RemoveAddress, SetDefaultAddress, UpdateAddress
from service.actor_replies import call_customer, tag_version
from service.address_route import AddressRoute
from service.auth import OwnerAdminOrReader, OwnerOrAdmin
from service.dependencies import Actors
from service.preconditions import IdempotencyKey, IfMatch, address_id_for
from service.problems import Problem
from service.schemas import (
    AddressCreate,
    AddressList,
    AddressReply,
    AddressUpdate,
    SetDefaultRequest,
)

router = APIRouter(
    prefix="/api/v1/customers/{customer_id}/addresses",
    tags=["addresses"],
    # Syntax errors and the country's rules come back together.
    route_class=AddressRoute,
)


def _present(response: Response, reply: dict[str, Any]) -> dict[str, Any]:
    tag_version(response, reply["version"])
    return {"address": reply["address"], "version": reply["version"]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AddressReply,
    dependencies=[OwnerOrAdmin],
)
async def create_address(
    customer_id: uuid.UUID,
    body: AddressCreate,
    actors: Actors,
    response: Response,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    if body.customer_id is not None and body.customer_id != str(customer_id):
        raise Problem(
            422,
            "validation-failed",
            "The request is not valid",
            "1 field error(s)",
            errors=[
                {
                    "field": "customer_id",
                    "in": "body",
                    "message": "does not match the customer in the path",
                    "code": "mismatch",
                }
            ],
        )
    command = AddAddress(
        address_id=address_id_for(str(customer_id), idempotency_key),
        fields=body.to_fields(),
        is_default=body.is_default,
        idempotency_key=idempotency_key,
        if_match=if_match,
    )
    reply = await call_customer(actors, str(customer_id), "add_address", encode(command))
    response.headers["Location"] = f"/api/v1/customers/{customer_id}/addresses/{command.address_id}"
    if not reply["committed"]:
        response.headers["Idempotent-Replayed"] = "true"
    return _present(response, reply)


@router.get("", response_model=AddressList, dependencies=[OwnerAdminOrReader])
async def list_addresses(customer_id: uuid.UUID, actors: Actors, response: Response) -> Any:
    reply = await call_customer(actors, str(customer_id), "get_addresses")
    tag_version(response, reply["version"])
    return {"addresses": reply["addresses"], "version": reply["version"]}


@router.get("/{address_id}", response_model=AddressReply, dependencies=[OwnerAdminOrReader])
async def get_address(
    customer_id: uuid.UUID, address_id: uuid.UUID, actors: Actors, response: Response
) -> Any:
    reply = await call_customer(actors, str(customer_id), "get_addresses")
    found = next((a for a in reply["addresses"] if a["id"] == str(address_id)), None)
    if found is None:
        raise Problem(404, "address-not-found", "Address not found")
    tag_version(response, reply["version"])
    return {"address": found, "version": reply["version"]}


@router.patch("/{address_id}", response_model=AddressReply, dependencies=[OwnerOrAdmin])
async def update_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    body: AddressUpdate,
    actors: Actors,
    response: Response,
    if_match: IfMatch,
) -> Any:
    command = UpdateAddress(
        address_id=str(address_id),
        changes=body.to_changes(),
        is_default=body.is_default,
        if_match=if_match,
    )
    reply = await call_customer(actors, str(customer_id), "update_address", encode(command))
    return _present(response, reply)


@router.delete("/{address_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[OwnerOrAdmin])
async def delete_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    actors: Actors,
    response: Response,
    if_match: IfMatch,
) -> None:
    """Removes the address; if it was a default, another of its kind takes over."""
    command = RemoveAddress(address_id=str(address_id), if_match=if_match)
    reply = await call_customer(actors, str(customer_id), "remove_address", encode(command))
    tag_version(response, reply["version"])


@router.post("/{address_id}/set-default", response_model=AddressReply, dependencies=[OwnerOrAdmin])
async def set_default_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    actors: Actors,
    response: Response,
    if_match: IfMatch,
    body: Annotated[SetDefaultRequest | None, Body()] = None,
) -> Any:
    command = SetDefaultAddress(
        address_id=str(address_id), kind=body.type if body else None, if_match=if_match
    )
    reply = await call_customer(actors, str(customer_id), "set_default_address", encode(command))
    return _present(response, reply)
