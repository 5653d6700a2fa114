"""Customer profile routes (seed: /api/v1/customers)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from actors.customer_protocol import (
    CREATE,
    DELETE,
    GET,
    RESTORE,
    UPDATE,
    CustomerShown,
    ReadCustomer,
)
from actors.invoker import SidecarUnavailable
from domain.commands import DeleteCustomer, RestoreCustomer, UpdateCustomer, request_fingerprint
from domain.model import CustomerStatus, CustomerType
from domain.unique_keys import legacy_id_key
from readmodel.queries import MAX_LIMIT, BadCursor, CustomerFilter, Sort
from readmodel.queries import list_customers as list_customers_query
from service.actor_replies import sidecar_unavailable, tag_version
from service.auth import AdminOnly, AdminOrReader, Owner, OwnerAdminOrReader, OwnerOrAdmin
from service.authentication import Principal, Role
from service.dependencies import AppSettings, Customers, Database, ExportsDep, Keys, LookupsDep
from service.features import SEGMENTS_DISABLED, SegmentsEnabled
from service.input_types import Moment, SafeText
from service.lookup_params import LOOKUP_PARAMETERS, MAX_IDS, parse_lookup
from service.lookups import Lookups
from service.preconditions import IdempotencyKey, IfMatch, customer_id_for
from service.problems import Problem
from service.schemas import (
    ADMIN_FIELDS,
    CustomerBatch,
    CustomerCreate,
    CustomerPage,
    CustomerReply,
    CustomerUpdate,
    LegacyId,
    SegmentMemberships,
)

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

_NOT_FOUND = Problem(404, "customer-not-found", "Customer not found")
# A customer's token alone does not change the email: the flow asks for the
# password and a token sent to the new address.
_EMAIL_CHANGE_REQUIRED = Problem(
    403,
    "email-change-required",
    "Change the email through the email-change flow",
    "POST /api/v1/customers/{id}/email-change with the new email and the password",
)


def _present(response: Response, shown: CustomerShown) -> dict[str, Any]:
    tag_version(response, shown.version)
    return {"customer": shown.customer}


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CustomerReply, dependencies=[AdminOnly]
)
async def create_customer(
    body: CustomerCreate,
    customers: Customers,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    customer_id = customer_id_for(idempotency_key)
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = request_fingerprint(body.model_dump(mode="json"))
    shown = await customers.ask(customer_id, CREATE, body.to_command(customer_id, fingerprint))
    response.headers["Location"] = f"{router.prefix}/{customer_id}"
    if not shown.committed:
        response.headers["Idempotent-Replayed"] = "true"
    return _present(response, shown)


async def _look_up(
    request: Request,
    lookups: Lookups,
    caller: Principal,
    ids: str | None,
    phone: str | None,
    include_deleted: bool,
) -> dict[str, Any]:
    """``?ids=`` or ``?phone=``: each parameter once, nothing else; deleted customers
    only for an admin."""
    query = request.query_params
    others = sorted(set(query.keys()) - LOOKUP_PARAMETERS)
    repeated = [name for name in LOOKUP_PARAMETERS if len(query.getlist(name)) > 1]
    lookup = parse_lookup(ids, phone, others, repeated)
    if include_deleted and caller.role is Role.READER:
        raise Problem(
            403, "forbidden", "Not allowed", "only an admin may include deleted customers"
        )
    if lookup.ids is not None:
        return {"customers": await lookups.by_ids(lookup.ids, include_deleted)}
    assert lookup.phone is not None  # parse_lookup answers one of them
    return {"customers": await lookups.by_phone(lookup.phone, include_deleted)}


@router.get("", response_model=CustomerPage | CustomerBatch)
async def list_customers(
    request: Request,
    database: Database,
    lookups: LookupsDep,
    settings: AppSettings,
    caller: Annotated[Principal, AdminOrReader],
    ids: Annotated[
        SafeText | None,
        Query(max_length=MAX_IDS * 40, description=f"comma-separated customer ids, ≤ {MAX_IDS}"),
    ] = None,
    phone: Annotated[
        SafeText | None, Query(max_length=32, description="E.164, exact (+ sent as %2B)")
    ] = None,
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
    name; pass ``next_cursor`` back as ``cursor`` for the next page.

    With ``ids`` or ``phone`` (and nothing else but ``include_deleted``): a look-up,
    answered from the committed documents (``{"customers": [...]}``, each as
    ``GET /api/v1/customers/{id}`` shows it); the only list a ``read`` caller may ask."""
    if ids is not None or phone is not None:
        return await _look_up(request, lookups, caller, ids, phone, include_deleted)
    if caller.role is Role.READER:
        raise Problem(
            403, "forbidden", "Not allowed", "a read caller may only look up by ids or phone"
        )
    if segment is not None and not settings.enable_segments:
        raise SEGMENTS_DISABLED
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
        async with database.acquire() as conn:
            rows, next_cursor = await list_customers_query(conn, where, sort, limit, cursor)
    except BadCursor:
        raise Problem(400, "bad-cursor", "The cursor is not valid for this list") from None
    return {"customers": rows, "next_cursor": next_cursor}


@router.get("/by-legacy-id/{legacy_id}", response_model=CustomerReply, dependencies=[AdminOrReader])
async def get_customer_by_legacy_id(
    legacy_id: Annotated[LegacyId, Path()], customers: Customers, keys: Keys, response: Response
) -> Any:
    try:
        holder = await keys.holder(legacy_id_key(legacy_id))
    except SidecarUnavailable as exc:
        raise sidecar_unavailable() from exc
    if holder is None:
        raise _NOT_FOUND
    shown = await customers.ask(holder, GET, ReadCustomer())
    # A claim can outlive the value it guarded (see domain.claims); the document decides.
    if shown.customer["legacy_id"] != legacy_id:
        raise _NOT_FOUND
    return _present(response, shown)


@router.get("/{customer_id}", response_model=CustomerReply, dependencies=[OwnerAdminOrReader])
async def get_customer(
    customer_id: uuid.UUID,
    customers: Customers,
    response: Response,
    include_deleted: Annotated[bool, Query()] = False,
) -> Any:
    query = ReadCustomer(include_deleted=include_deleted)
    return _present(response, await customers.ask(str(customer_id), GET, query))


@router.patch("/{customer_id}", response_model=CustomerReply)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
    caller: Owner,
) -> Any:
    changes = body.to_changes()
    if not caller.is_admin and (reserved := sorted(changes.keys() & ADMIN_FIELDS)):
        raise Problem(
            403, "forbidden", "Not allowed", "only an admin may change: " + ", ".join(reserved)
        )
    if not caller.is_admin and "email" in changes:
        raise _EMAIL_CHANGE_REQUIRED
    command = UpdateCustomer(changes=changes, if_match=if_match)
    return _present(response, await customers.ask(str(customer_id), UPDATE, command))


@router.delete(
    "/{customer_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[OwnerOrAdmin]
)
async def delete_customer(
    customer_id: uuid.UUID, customers: Customers, response: Response, if_match: IfMatch
) -> None:
    """Soft delete: the customer is kept, hidden, and can be restored."""
    command = DeleteCustomer(if_match=if_match)
    tag_version(response, (await customers.ask(str(customer_id), DELETE, command)).version)


@router.post("/{customer_id}/restore", response_model=CustomerReply, dependencies=[AdminOnly])
async def restore_customer(
    customer_id: uuid.UUID, customers: Customers, response: Response, if_match: IfMatch
) -> Any:
    command = RestoreCustomer(if_match=if_match)
    return _present(response, await customers.ask(str(customer_id), RESTORE, command))


@router.get(
    "/{customer_id}/segments", response_model=SegmentMemberships, dependencies=[SegmentsEnabled]
)
async def get_customer_segments(
    customer_id: uuid.UUID,
    lookups: LookupsDep,
    caller: Annotated[Principal, OwnerAdminOrReader],
) -> Any:
    """The segments the customer belongs to (read model: about a second behind)."""
    found = await lookups.segments(str(customer_id), caller.access)
    return {"segments": found}


@router.get("/{customer_id}/export", response_class=JSONResponse)
async def export_customer(customer_id: uuid.UUID, exports: ExportsDep, caller: Owner) -> Any:
    """Everything the service holds about the person, as a file to keep (data
    portability): the customer itself, or an admin (also of a soft-deleted one)."""
    held, version = await exports.export(str(customer_id), caller)
    return JSONResponse(
        held,
        headers={
            "Content-Disposition": f'attachment; filename="customer-{customer_id}.json"',
            "ETag": f'"{version}"',
            "Cache-Control": "no-store",
        },
    )
