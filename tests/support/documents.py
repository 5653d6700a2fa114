"""What is stored, read straight from Postgres, and writes behind the actors' back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from domain.model import Customer, CustomerStatus, CustomerType
from domain.unique_keys import normalize_email
from tests.support.values import customer_body

# Long enough for the outbox (1 s hold, then publish) to deliver anything it would.
OUTBOX_SETTLE_SECONDS = 4.0


def state_key(customer_id: str) -> str:
    # The store prefixes keys with the app id; the actor writes "customer:<id>".
    return f"customer-service||customer:{customer_id}"


async def stored_document(db: asyncpg.Connection, customer_id: str) -> dict[str, Any] | None:
    raw = await db.fetchval(
        "SELECT convert_from(value, 'UTF8') FROM dapr_state WHERE key = $1",
        state_key(customer_id),
    )
    return None if raw is None else json.loads(raw)


async def stored_customer_ids(db: asyncpg.Connection) -> set[str]:
    rows = await db.fetch(
        "SELECT key FROM dapr_state WHERE key LIKE 'customer-service||customer:%'"
    )
    return {row["key"].rsplit(":", 1)[1] for row in rows}


async def stored_customers_with(db: asyncpg.Connection, email: str) -> list[str]:
    """Every stored live customer whose email is ``email``, in any spelling."""
    rows = await db.fetch(
        "SELECT convert_from(value, 'UTF8')::jsonb ->> 'id' AS id, "
        "convert_from(value, 'UTF8')::jsonb ->> 'email' AS email FROM dapr_state "
        "WHERE key LIKE 'customer-service||customer:%' "
        "AND convert_from(value, 'UTF8')::jsonb ->> 'deleted_at' IS NULL "
        "AND convert_from(value, 'UTF8')::jsonb ->> 'erased_at' IS NULL"
    )
    wanted = normalize_email(email)
    return [row["id"] for row in rows if normalize_email(row["email"]) == wanted]


def other_writers_document(customer_id: str, version: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return Customer(
        id=customer_id,
        email="other@example.com",
        first_name="Other",
        last_name="Writer",
        phone=None,
        date_of_birth=None,
        gender=None,
        customer_type=CustomerType.BUSINESS,
        status=CustomerStatus.ACTIVE,
        email_verified=False,
        registration_source=None,
        metadata={},
        customer_group_id=None,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        version=version,
    ).to_document()


async def store_behind_the_actors_back(
    sidecar: httpx.AsyncClient, customer_id: str, version: int
) -> dict[str, Any]:
    """Save a document as another writer would; the plain save API has no outbox."""
    document = other_writers_document(customer_id, version)
    saved = await sidecar.post(
        "/v1.0/state/customer-store", json=[{"key": f"customer:{customer_id}", "value": document}]
    )
    assert saved.status_code == 204
    return document


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/customers", json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer
