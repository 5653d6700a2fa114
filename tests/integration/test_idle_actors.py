"""Actors that went idle (deactivated, memory gone) keep every invariant.

On a stack of its own whose actors deactivate after 2 s of idleness.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import App, Infrastructure
from tests.support.credentials import admin_token, call_actor
from tests.support.documents import stored_document
from tests.support.stacks import own_stack
from tests.support.values import customer_body, unique_email

CUSTOMERS = "/api/v1/customers"
IDLE_SECONDS = 2


@pytest.fixture(scope="module")
def idle_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Infrastructure, App]]:
    env = {
        "CUSTOMER_ACTOR_IDLE_TIMEOUT_SECONDS": str(IDLE_SECONDS),
        "CUSTOMER_ACTOR_SCAN_INTERVAL_SECONDS": "1",
    }
    with own_stack(Path(tmp_path_factory.mktemp("idle")), env) as stack:
        yield stack


@pytest.fixture
async def api(idle_stack: tuple[Infrastructure, App]) -> AsyncIterator[httpx.AsyncClient]:
    _, app = idle_stack
    headers = {"authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(base_url=app.app_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
async def sidecar(idle_stack: tuple[Infrastructure, App]) -> AsyncIterator[httpx.AsyncClient]:
    _, app = idle_stack
    token = app.sidecar_spec.env["DAPR_API_TOKEN"]
    async with httpx.AsyncClient(
        base_url=app.sidecar_url, headers={"dapr-api-token": token}, timeout=30
    ) as client:
        yield client


@pytest.fixture
async def db(idle_stack: tuple[Infrastructure, App]) -> AsyncIterator[asyncpg.Connection]:
    infra, _ = idle_stack
    connection = await asyncpg.connect(infra.postgres_dsn)
    yield connection
    await connection.close()


async def idle() -> None:
    """Long enough for daprd to deactivate every actor nobody called."""
    await asyncio.sleep(IDLE_SECONDS + 2.5)


async def test_an_idempotent_create_retried_after_deactivation_replays(
    api: httpx.AsyncClient,
) -> None:
    body = customer_body()
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = await api.post(CUSTOMERS, json=body, headers=key)
    assert first.status_code == 201
    await idle()

    retried = await api.post(CUSTOMERS, json=body, headers=key)

    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["customer"]["id"] == first.json()["customer"]["id"]
    await idle()
    second = await api.post(CUSTOMERS, json=customer_body(email=body["email"]))
    assert second.status_code == 409
    assert second.json()["type"].endswith("email-taken")


async def test_a_refused_change_never_gives_away_a_value_its_customer_holds(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient
) -> None:
    """A create replayed on an idle actor claims the customer's own email again
    (it holds it already) and then a legacy id someone else holds: refused. Only
    what that call newly claimed may be given back: the email stays held."""
    legacy = f"CRM-{uuid.uuid4().hex[:8]}"
    other = (await api.post(CUSTOMERS, json=customer_body(legacy_id=legacy))).json()["customer"]
    mine = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]
    await idle()
    payload: dict[str, Any] = {
        k: v
        for k, v in customer_body(email=mine["email"], legacy_id=other["legacy_id"]).items()
        if k != "date_of_birth"
    }
    refused = await call_actor(sidecar, "Customer", mine["id"], "create", payload)
    assert refused.json()["ok"] is False

    # Someone else asks for the email: it is still held.
    thief = await api.post(CUSTOMERS, json=customer_body(email=mine["email"]))
    assert thief.status_code == 409, thief.text
    assert thief.json()["type"].endswith("email-taken")


async def test_a_refused_create_on_an_idle_actor_leaves_the_customer_visible(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    holder = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]
    existing = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]
    await idle()
    # A create for the existing id (as a replayed or buggy caller could send),
    # with an email another customer holds: refused before any commit.
    payload: dict[str, Any] = {
        k: v for k, v in customer_body(email=holder["email"]).items() if k != "date_of_birth"
    }
    refused = await call_actor(sidecar, "Customer", existing["id"], "create", payload)
    assert refused.json()["ok"] is False

    shown = await api.get(f"{CUSTOMERS}/{existing['id']}")

    assert shown.status_code == 200
    assert shown.json()["customer"]["email"] == existing["email"]
    stored = await stored_document(db, existing["id"])
    assert stored is not None
    assert stored["version"] == 1


async def test_an_address_retry_with_a_stale_if_match_replays(api: httpx.AsyncClient) -> None:
    customer = (await api.post(CUSTOMERS, json=customer_body(email=unique_email()))).json()
    cid = customer["customer"]["id"]
    address = {
        "type": "SHIPPING",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address_line_1": "1 Main St",
        "city": "Springfield",
        "state_province": "IL",
        "postal_code": "62701",
        "country_code": "US",
    }
    headers = {"If-Match": '"1"', "Idempotency-Key": f"addr-{uuid.uuid4()}"}
    first = await api.post(f"{CUSTOMERS}/{cid}/addresses", json=address, headers=headers)
    assert first.status_code == 201
    await idle()

    # The client did not see the answer and retries the same request: the
    # customer is at version 2 now, but this is the change that made it so.
    retried = await api.post(f"{CUSTOMERS}/{cid}/addresses", json=address, headers=headers)

    assert retried.status_code == 201, retried.text
    assert retried.json()["address"]["id"] == first.json()["address"]["id"]
    assert retried.json()["version"] == 2
