"""Customer profile routes (seed: /api/v1/customers)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from service.dependencies import Actors
from service.problems import Problem
from service.schemas import CustomerCreate, CustomerReply
from service.sidecar import SidecarUnavailable

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

ACTOR_TYPE = "Customer"

_REFUSALS = {
    "not_found": (404, "not-found", "Customer not found"),
    "already_exists": (409, "already-exists", "Customer already exists"),
    "conflict": (409, "conflict", "The customer changed concurrently; retry"),
    "unavailable": (503, "unavailable", "Customer storage is unavailable"),
}


async def _call(actors: Actors, customer_id: str, method: str, payload: Any = None) -> Any:
    try:
        reply = await actors.call(ACTOR_TYPE, customer_id, method, payload)
    except SidecarUnavailable as exc:
        raise Problem(503, "unavailable", "The Dapr sidecar is unavailable") from exc
    if not reply.get("ok"):
        error = reply.get("error") or {}
        http_status, slug, title = _REFUSALS.get(
            error.get("code", ""), (500, "internal", "Internal server error")
        )
        raise Problem(http_status, slug, title, error.get("detail") if http_status < 500 else None)
    return reply


def _present(response: Response, customer: dict[str, Any]) -> dict[str, Any]:
    """The reply body; FastAPI validates it once against ``CustomerReply``."""
    response.headers["ETag"] = f'"{customer["version"]}"'
    return {"customer": customer}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerReply)
async def create_customer(body: CustomerCreate, actors: Actors, response: Response) -> Any:
    customer_id = str(uuid.uuid4())
    reply = await _call(actors, customer_id, "create", body.to_command(customer_id).to_payload())
    response.headers["Location"] = f"{router.prefix}/{customer_id}"
    return _present(response, reply["customer"])


@router.get("/{customer_id}", response_model=CustomerReply)
async def get_customer(customer_id: uuid.UUID, actors: Actors, response: Response) -> Any:
    reply = await _call(actors, str(customer_id), "get")
    return _present(response, reply["customer"])
