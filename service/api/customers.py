"""Customer profile routes (seed: /api/v1/customers)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from actors.codec import encode
from actors.invoker import SidecarUnavailable
from domain.commands import DeleteCustomer, RestoreCustomer, UpdateCustomer, request_fingerprint
from domain.model import CustomerStatus, CustomerType
from domain.unique_keys import legacy_id_key
from readmodel.queries import MAX_LIMIT, BadCursor, CustomerFilter, Sort
from readmodel.queries import list_customers as list_customers_query
from service.actor_replies import call_customer, sidecar_unavailable, tag_version
from service.auth import AdminOnly, AdminOrReader, Owner, OwnerAdminOrReader, OwnerOrAdmin
from service.dependencies import Actors, Deps
from service.input_types import Moment, SafeText
from service.preconditions import IdempotencyKey, IfMatch, customer_id_for
from service.problems import Problem
from service.schemas import (
    CustomerCreate,
    CustomerPage,
    CustomerReply,
    CustomerUpdate,
    LegacyId,
)

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


def _present(response: Response, reply: dict[str, Any]) -> dict[str, Any]:
    customer = reply["customer"]
    tag_version(response, customer["version"])
    return {"customer": customer}


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CustomerReply, dependencies=[AdminOnly]
)
async def create_customer(
    body: CustomerCreate, actors: Actors, response: Response, idempotency_key: IdempotencyKey = None
) -> Any:
    customer_id = customer_id_for(idempotency_key)
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = request_fingerprint(body.model_dump(mode="json"))
    command = body.to_command(customer_id, fingerprint)
    reply = await call_customer(actors, customer_id, "create", encode(command))
    response.headers["Location"] = f"{router.prefix}/{customer_id}"
    if not reply["committed"]:
        response.headers["Idempotent-Replayed"] = "true"
    return _present(response, reply)


@router.get("", response_model=CustomerPage, dependencies=[AdminOnly])
async def list_customers(
    deps: Deps,
    status: Annotated[CustomerStatus | None, Query()] = None,
    customer_type: Annotated[CustomerType | None, Query()] = None,
    group: Annotated[SafeText | None, Query(max_length=50)] = None,
    segment: Annotated[uuid.UUID | None, Query()] = None,
    created_from: Annotated[Moment | None, Query()] = None,
    created_to: Annotated[Moment | None, Query()] = None,
    email: Annotated[SafeText | None, Query(max_length=255)] = None,
    q: Annotated[SafeText | None, Query(min_length=1, max_length=100)] = None,
    include_deleted: Annotated[bool, Query()] = False,
    sort: Annotated[Sort, Query()] = "created_at",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Any:
    """Search the read model (about a second behind the actors): newest first, or by
    name; pass ``next_cursor`` back as ``cursor`` for the next page."""
    where = CustomerFilter(
        status=status,
        customer_type=customer_type,
        group=group,
        segment=segment,
        created_from=created_from,
        created_to=created_to,
        email=email,
        q=q,
        include_deleted=include_deleted,
    )
    try:
        async with deps.database.acquire() as conn:
            rows, next_cursor = await list_customers_query(conn, where, sort, limit, cursor)
    except BadCursor:
        raise Problem(400, "bad-cursor", "The cursor is not valid for this list") from None
    return {"customers": rows, "next_cursor": next_cursor}


@router.get("/by-legacy-id/{legacy_id}", response_model=CustomerReply, dependencies=[AdminOrReader])
async def get_customer_by_legacy_id(
    legacy_id: Annotated[LegacyId, Path()], deps: Deps, response: Response
) -> Any:
    try:
        holder = await deps.keys.holder(legacy_id_key(legacy_id))
    except SidecarUnavailable as exc:
        raise sidecar_unavailable() from exc
    not_found = Problem(404, "customer-not-found", "Customer not found")
    if holder is None:
        raise not_found
    reply = await call_customer(deps.actors, holder, "get", {})
    # A claim can outlive the value it guarded (see domain.claims); the document decides.
    if reply["customer"]["legacy_id"] != legacy_id:
        raise not_found
    return _present(response, reply)


@router.get("/{customer_id}", response_model=CustomerReply, dependencies=[OwnerAdminOrReader])
async def get_customer(
    customer_id: uuid.UUID,
    actors: Actors,
    response: Response,
    include_deleted: Annotated[bool, Query()] = False,
) -> Any:
    query = {"include_deleted": include_deleted}
    return _present(response, await call_customer(actors, str(customer_id), "get", query))


# What only an admin (or another service) may change about a customer.
ADMIN_FIELDS = frozenset({"status", "customer_group_id", "legacy_id", "metadata"})


@router.patch("/{customer_id}", response_model=CustomerReply)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    actors: Actors,
    response: Response,
    if_match: IfMatch,
    caller: Owner,
) -> Any:
    changes = body.to_changes()
    if not caller.is_admin and (reserved := sorted(changes.keys() & ADMIN_FIELDS)):
        raise Problem(
            403, "forbidden", "Not allowed", "only an admin may change: " + ", ".join(reserved)
        )
    command = UpdateCustomer(changes=changes, if_match=if_match)
    reply = await call_customer(actors, str(customer_id), "update", encode(command))
    return _present(response, reply)


@router.delete(
    "/{customer_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[OwnerOrAdmin]
)
async def delete_customer(
    customer_id: uuid.UUID, actors: Actors, response: Response, if_match: IfMatch
) -> None:
    """Soft delete: the customer is kept, hidden, and can be restored."""
    command = DeleteCustomer(if_match=if_match)
    reply = await call_customer(actors, str(customer_id), "delete", encode(command))
    tag_version(response, reply["version"])


@router.post("/{customer_id}/restore", response_model=CustomerReply, dependencies=[AdminOnly])
async def restore_customer(
    customer_id: uuid.UUID, actors: Actors, response: Response, if_match: IfMatch
) -> Any:
    command = RestoreCustomer(if_match=if_match)
    reply = await call_customer(actors, str(customer_id), "restore", encode(command))
    return _present(response, reply)
