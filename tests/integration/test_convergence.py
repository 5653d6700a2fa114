"""The read model always converges, and health says when delivery is broken.

Faults that leave an event behind are simulated here by writing behind the
actors' back (a committed document without its event) and by planting an
outbox marker (an event committed but never published); the worker process
of the shared stack must notice and repair.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from domain.model import timestamp
from tests.integration.conftest import EventSink, customer_body
from tests.support.documents import store_behind_the_actors_back, stored_document
from tests.support.polling import eventually

CUSTOMERS = "/api/v1/customers"


async def read_model_version(db: asyncpg.Connection, customer_id: str) -> int | None:
    version: int | None = await db.fetchval(
        "SELECT version FROM customers WHERE id = $1", uuid.UUID(customer_id)
    )
    return version


async def test_a_document_whose_event_was_lost_reaches_the_read_model(
    sidecar: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    customer_id = str(uuid.uuid4())
    # Committed without an event, as when a sidecar dies between commit and publish.
    await store_behind_the_actors_back(sidecar, customer_id, version=4)

    async def repaired() -> int | None:
        version = await read_model_version(db, customer_id)
        return version if version == 4 else None

    await eventually(repaired, within=30, what="the reconciler's repair")

    # Every subscriber hears of it: the snapshot, published again, signed and versioned.
    async def announced() -> list[dict[str, Any]] | None:
        events = await event_sink.for_subject(customer_id)
        return events or None

    resynced = await eventually(announced, within=15, what="the republished snapshot")
    assert [e["type"] for e in resynced] == ["customer.resynced"]
    data = resynced[0]["data"]
    assert (data["version"], data["snapshot"]["id"], data["changes"]) == (4, customer_id, {})
    assert "signature" in data


async def test_a_row_left_behind_by_a_lost_event_catches_up(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    created = await api.post(
        CUSTOMERS,
        json={
            "email": f"behind-{uuid.uuid4().hex[:8]}@example.com",
            "first_name": "Ada",
            "last_name": "L",
        },
    )
    customer_id = created.json()["customer"]["id"]

    async def projected() -> int | None:
        return await read_model_version(db, customer_id)

    await eventually(projected, within=15, what="the first projection")
    # A later version committed whose event never came.
    await store_behind_the_actors_back(sidecar, customer_id, version=9)

    async def caught_up() -> int | None:
        version = await read_model_version(db, customer_id)
        return version if version == 9 else None

    await eventually(caught_up, within=30, what="the reconciler's repair")
    first_name = await db.fetchval(
        "SELECT first_name FROM customers WHERE id = $1", uuid.UUID(customer_id)
    )
    assert first_name == "Other"  # the stored document's, not the stale row's


async def test_health_reports_committed_events_that_were_never_published(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    marker = f"outbox-{uuid.uuid4()}"
    await db.execute(
        "INSERT INTO dapr_state (key, value, created_at) "
        "VALUES ($1, '\"0\"'::bytea, now() - interval '10 minutes')",
        marker,
    )
    try:

        async def reported() -> dict[str, Any] | None:
            response = await api.get(f"{CUSTOMERS}/health")
            checks: dict[str, Any] = response.json()["checks"]
            if response.status_code == 503 and checks.get("outbox", {}).get("status") == "down":
                return checks
            return None

        checks = await eventually(reported, within=15, what="the outbox check failing")
        assert "1 committed event(s) not published" in checks["outbox"]["detail"]
        metrics = (await api.get("/metrics")).text
        assert "customer_outbox_stale_markers 1.0" in metrics
        # Readiness stays: a lost event is not this pod's own dependency failing.
        assert (await api.get("/readyz")).status_code == 200
    finally:
        await db.execute("DELETE FROM dapr_state WHERE key = $1", marker)

    async def healthy_again() -> bool | None:
        return True if (await api.get(f"{CUSTOMERS}/health")).status_code == 200 else None

    await eventually(healthy_again, within=15, what="health recovering")


async def test_a_document_that_cannot_be_projected_does_not_stop_the_sweep(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """One stored document the read model can never show (not JSON, here) is
    reported and passed over; the drift after it is repaired all the same."""
    unreadable = "00000000-0000-4000-8000-" + uuid.uuid4().hex[:12]
    await db.execute(
        "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to('{not json', 'UTF8'))",
        f"customer-service||customer:{unreadable}",
    )
    try:
        before = await unrepairable(api)
        customer_id = str(uuid.uuid4())
        await store_behind_the_actors_back(sidecar, customer_id, version=3)

        async def repaired() -> int | None:
            version = await read_model_version(db, customer_id)
            return version if version == 3 else None

        await eventually(repaired, within=30, what="the repair past the unreadable document")

        async def reported() -> float | None:
            count = await unrepairable(api)
            return count if count > before else None

        await eventually(reported, within=15, what="the unreadable document reported")
    finally:
        await db.execute(
            "DELETE FROM dapr_state WHERE key = $1", f"customer-service||customer:{unreadable}"
        )


async def unrepairable(api: httpx.AsyncClient) -> float:
    metrics = (await api.get("/metrics")).text
    for line in metrics.splitlines():
        if line.startswith("customer_reconcile_unrepairable_total "):
            return float(line.split()[1])
    return 0.0


async def test_a_row_behind_only_in_its_version_catches_up_without_a_resync(
    api: httpx.AsyncClient,
    sidecar: httpx.AsyncClient,
    db: asyncpg.Connection,
    event_sink: EventSink,
) -> None:
    """Only events without a snapshot were lost: the reconciler moves the row to
    the stored version itself, and publishes no snapshot (personal data) again."""
    created = await api.post(CUSTOMERS, json=customer_body())
    customer_id = created.json()["customer"]["id"]

    async def projected() -> int | None:
        return await read_model_version(db, customer_id)

    await eventually(projected, within=15, what="the first projection")
    document = await stored_document(db, customer_id)
    assert document is not None
    # Versions 2 and 3 were changes that touch nothing of the snapshot; their
    # events never came.
    saved = await sidecar.post(
        "/v1.0/state/customer-store",
        json=[
            {
                "key": f"customer:{customer_id}",
                "value": {**document, "version": 3, "updated_at": timestamp(datetime.now(UTC))},
            }
        ],
    )
    assert saved.status_code == 204

    async def caught_up() -> int | None:
        version = await read_model_version(db, customer_id)
        return version if version == 3 else None

    await eventually(caught_up, within=30, what="the reconciler's repair")
    # A change after the repair: once its event is in, a resync published before
    # it would be too.
    changed = await api.patch(f"{CUSTOMERS}/{customer_id}", json={"first_name": "After"})
    assert changed.status_code == 200, changed.text
    await event_sink.wait_for_version(customer_id, 1, within=20)

    async def after_the_repair() -> list[dict[str, Any]] | None:
        events = await event_sink.for_subject(customer_id)
        return events if any(e["data"]["version"] == 4 for e in events) else None

    events = await eventually(after_the_repair, within=20, what="the change's event")
    assert [e["type"] for e in events if e["type"] == "customer.resynced"] == []
