"""Address routes (seed: /api/v1/customers/{customer_id}/addresses)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from actors.customer_protocol import (
    ADD_ADDRESS,
    GET_ADDRESSES,
    REMOVE_ADDRESS,
    SET_DEFAULT_ADDRESS,
    UPDATE_ADDRESS,
    AddressShown,
    Read,
)
from domain.commands import AddAddress, RemoveAddress, SetDefaultAddress, UpdateAddress
from domain.errors import FieldError
from service.actor_replies import tag_version
from service.address_route import AddressRoute
from service.auth import OwnerAdminOrReader, OwnerOrAdmin
from service.dependencies import Customers
from service.preconditions import IdempotencyKey, IfMatch, address_id_for
from service.problems import Problem, validation_failed
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


def _present(response: Response, shown: AddressShown) -> dict[str, Any]:
    tag_version(response, shown.version)
    return {"address": shown.address, "version": shown.version}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AddressReply,
    dependencies=[OwnerOrAdmin],
)
async def create_address(
    customer_id: uuid.UUID,
    body: AddressCreate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    if body.customer_id is not None and body.customer_id != str(customer_id):
        mismatch = FieldError("customer_id", "does not match the customer in the path", "mismatch")
        raise validation_failed([mismatch])
    command = AddAddress(
        address_id=address_id_for(str(customer_id), idempotency_key),
        fields=body.to_fields(),
        is_default=body.is_default,
        idempotency_key=idempotency_key,
        if_match=if_match,
    )
    shown = await customers.ask(str(customer_id), ADD_ADDRESS, command)
    response.headers["Location"] = f"/api/v1/customers/{customer_id}/addresses/{command.address_id}"
    if not shown.committed:
        response.headers["Idempotent-Replayed"] = "true"
    return _present(response, shown)


@router.get("", response_model=AddressList, dependencies=[OwnerAdminOrReader])
async def list_addresses(customer_id: uuid.UUID, customers: Customers, response: Response) -> Any:
    shown = await customers.ask(str(customer_id), GET_ADDRESSES, Read())
    tag_version(response, shown.version)
    return {"addresses": shown.addresses, "version": shown.version}


@router.get("/{address_id}", response_model=AddressReply, dependencies=[OwnerAdminOrReader])
async def get_address(
    customer_id: uuid.UUID, address_id: uuid.UUID, customers: Customers, response: Response
) -> Any:
    shown = await customers.ask(str(customer_id), GET_ADDRESSES, Read())
    found = shown.address(str(address_id))
    if found is None:
        raise Problem(404, "address-not-found", "Address not found")
    return _present(response, AddressShown(address=found, version=shown.version))


@router.patch("/{address_id}", response_model=AddressReply, dependencies=[OwnerOrAdmin])
async def update_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    body: AddressUpdate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> Any:
    command = UpdateAddress(
        address_id=str(address_id),
        changes=body.to_changes(),
        is_default=body.is_default,
        if_match=if_match,
    )
    return _present(response, await customers.ask(str(customer_id), UPDATE_ADDRESS, command))


@router.delete("/{address_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[OwnerOrAdmin])
async def delete_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> None:
    """Removes the address; if it was a default, another of its kind takes over."""
    command = RemoveAddress(address_id=str(address_id), if_match=if_match)
    shown = await customers.ask(str(customer_id), REMOVE_ADDRESS, command)
    tag_version(response, shown.version)


@router.post("/{address_id}/set-default", response_model=AddressReply, dependencies=[OwnerOrAdmin])
async def set_default_address(
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
    body: Annotated[SetDefaultRequest | None, Body()] = None,
) -> Any:
    command = SetDefaultAddress(
        address_id=str(address_id), kind=body.type if body else None, if_match=if_match
    )
    shown = await customers.ask(str(customer_id), SET_DEFAULT_ADDRESS, command)
    return _present(response, shown)
