"""The write path of docs/architecture.md, end to end on the real stack.

POST -> Customer actor -> one state transaction (document + outbox event)
-> Postgres row and exactly one CloudEvent on customer-events.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx

from devstack.stack import App
from domain.events import CUSTOMER_RESYNCED
from tests.integration.conftest import CallerSidecars, EventSink, customer_body, unique_email
from tests.support.credentials import call_actor
from tests.support.documents import (
    OUTBOX_SETTLE_SECONDS,
    create,
    store_behind_the_actors_back,
    stored_customer_ids,
    stored_document,
)


async def events_of_the_actors(event_sink: EventSink, customer_id: str) -> list[dict[str, Any]]:
    """The events of changes the actors committed: the reconciler's republished
    snapshots of what another writer stored (customer.resynced) are not theirs."""
    events = await event_sink.for_subject(customer_id)
    return [event for event in events if event["type"] != CUSTOMER_RESYNCED]


async def test_create_commits_the_document_with_version_1(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    email = unique_email("seed")
    response = await api.post("/api/v1/customers", json=customer_body(email=email))

    assert response.status_code == 201
    customer = response.json()["customer"]
    assert response.headers["location"] == f"/api/v1/customers/{customer['id']}"
    assert response.headers["etag"] == '"1"'
    assert customer["version"] == 1
    assert customer["email"] == email
    assert customer["date_of_birth"] == "1990-01-01"
    stored = await stored_document(db, customer["id"])
    assert stored is not None
    assert stored["version"] == 1
    assert stored["email"] == email
    assert stored["id"] == customer["id"]


async def test_exactly_the_committed_event_is_published(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    email = unique_email("Event.Check").replace("example.com", "Example.com")
    customer = await create(api, email=email)

    await event_sink.wait_for({customer["id"]}, within=15)
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)  # a duplicate would show up by now
    events = await event_sink.for_subject(customer["id"])

    assert len(events) == 1
    event = events[0]
    assert event["type"] == "customer.created"
    assert event["specversion"] == "1.0"
    assert event["source"] == "customer-service"
    assert event["datacontenttype"] == "application/json"
    assert event["partitionkey"] == customer["id"]
    data = event["data"]
    assert data["customer_id"] == customer["id"]
    assert data["version"] == 1
    # The snapshot is the whole customer: the profile, its addresses, its preferences;
    # the order statistics the reply shows beside the profile it keeps under "orders".
    orders = ("total_orders", "total_spent", "last_order_at")
    profile = {field: value for field, value in customer.items() if field not in orders}
    assert {field: data["snapshot"][field] for field in profile} == profile
    assert {field: customer[field] for field in orders} == data["snapshot"]["orders"]
    assert data["snapshot"]["addresses"] == []
    assert data["snapshot"]["preferences"]["newsletter"] is False
    assert "internal" not in data["snapshot"]
    assert data["changes"]["email"] == {"before": None, "after": email}
    assert "version" not in data["changes"]


async def test_get_reads_through_the_actor(api: httpx.AsyncClient) -> None:
    customer = await create(api)

    response = await api.get(f"/api/v1/customers/{customer['id']}")

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == {"customer": customer}


async def test_unknown_customer_is_a_404_problem(api: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()

    response = await api.get(f"/api/v1/customers/{missing}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Customer not found"
    assert problem["instance"] == f"/api/v1/customers/{missing}"


async def test_a_malformed_id_is_a_422_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/customers/not-a-uuid")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "customer_id"


async def test_service_invocation_returns_the_same_customer(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    customer = await create(api, email=unique_email("invoked"))
    crm = caller_sidecars("crm")  # CUSTOMER_SERVICE_CALLERS: crm=admin

    direct = await api.get(f"/api/v1/customers/{customer['id']}")
    async with httpx.AsyncClient(base_url=crm.url, timeout=30) as client:
        invoked = await client.get(
            f"/v1.0/invoke/customer-service/method/api/v1/customers/{customer['id']}",
            headers={"dapr-api-token": crm.api_token},
        )

    assert invoked.status_code == 200
    assert invoked.json() == direct.json()


async def test_invalid_create_lists_every_error_and_leaves_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    before = await stored_customer_ids(db)
    bad = {
        **customer_body(),
        "email": "not-an-email",
        "gender": "ROBOT",
        "date_of_birth": "2999-01-01",
        "first_name": "x" * 101,
        "favourite_colour": "blue",
    }

    response = await api.post("/api/v1/customers", json=bad)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"email", "gender", "date_of_birth", "first_name", "favourite_colour"}
    assert "Traceback" not in response.text
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)
    assert await stored_customer_ids(db) == before
    # Every event that names a customer belongs to one that was committed (the
    # read-model tests also publish a poison message, which names nobody; a customer
    # group's events name the group).
    subjects = {
        e["subject"]
        for e in await event_sink.events()
        if e.get("subject") and not str(e.get("type", "")).startswith("customer_group.")
    }
    assert subjects <= before


async def test_malformed_json_is_a_problem_not_a_crash(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/customers", content=b'{"email": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_actor_keeps_no_view_between_calls(
    sidecar: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """What was stored behind the actor's back after its last call (as during a
    rebalancing) is what its next call decides on: it keeps no copy to go stale."""
    customer_id = str(uuid.uuid4())
    first = await call_actor(sidecar, "Customer", customer_id, "get")
    assert first.json()["error"]["code"] == "not_found"
    other = await store_behind_the_actors_back(sidecar, customer_id, version=7)

    read = await call_actor(sidecar, "Customer", customer_id, "get")
    updated = await call_actor(
        sidecar, "Customer", customer_id, "update", {"changes": {"last_name": "Roe"}}
    )

    assert read.json()["customer"]["version"] == 7
    assert updated.json()["ok"] is True, updated.json()
    stored = await stored_document(db, customer_id)
    assert stored is not None
    assert (stored["version"], stored["last_name"]) == (8, "Roe")
    assert stored["first_name"] == other["first_name"]


async def test_a_create_on_a_fresh_actor_over_a_stored_document_is_refused(
    sidecar: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    """A create on a never-loaded actor skips the read (ids are new); if a
    document is stored after all, the insert-only commit fails, the actor
    loads what is stored and decides again: already exists, nothing written."""
    customer_id = str(uuid.uuid4())
    other = await store_behind_the_actors_back(sidecar, customer_id, version=3)
    payload = {k: v for k, v in customer_body().items() if k != "date_of_birth"}

    refused = await call_actor(sidecar, "Customer", customer_id, "create", payload)

    assert refused.json()["error"]["code"] == "already_exists"
    assert await stored_document(db, customer_id) == other
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)
    assert await events_of_the_actors(event_sink, customer_id) == []


async def test_actor_routes_refuse_callers_other_than_the_sidecar(
    customer_service: App, db: asyncpg.Connection
) -> None:
    customer_id = str(uuid.uuid4())
    url = f"{customer_service.app_url}/actors/Customer/{customer_id}/method/create"
    payload = {k: v for k, v in customer_body().items() if k != "date_of_birth"}

    async with httpx.AsyncClient() as client:
        anonymous = await client.put(url, json=payload)
        guessed = await client.put(url, json=payload, headers={"dapr-api-token": "guess"})

    assert anonymous.status_code == 401
    assert guessed.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert await stored_document(db, customer_id) is None
