"""Profiles on the real stack: update, preconditions, soft delete and restore,
one live customer per email, legacy ids, idempotent creates."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from domain.unique_keys import email_key
from tests.integration.conftest import EventSink, customer_body, unique_email
from tests.support.documents import OUTBOX_SETTLE_SECONDS, stored_document

CUSTOMERS = "/api/v1/customers"


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post(CUSTOMERS, json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


async def test_patch_changes_the_given_fields_and_publishes_their_changes(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    customer = await create(api)
    url = f"{CUSTOMERS}/{customer['id']}"

    response = await api.patch(url, json={"first_name": "Jane", "phone": "+44 20 7183 8750"})

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    updated = response.json()["customer"]
    assert (updated["first_name"], updated["phone"], updated["version"]) == (
        "Jane",
        "+442071838750",
        2,
    )
    await event_sink.wait_for_version(customer["id"], 2, within=15)
    events = {e["data"]["version"]: e for e in await event_sink.for_subject(customer["id"])}
    assert events[2]["type"] == "customer.updated"
    assert events[2]["data"]["changes"] == {
        "first_name": {"before": "John", "after": "Jane"},
        "phone": {"before": "+14155550123", "after": "+442071838750"},
    }
    assert events[2]["data"]["customer_id"] == customer["id"]


async def test_a_stale_if_match_gets_412_and_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    customer = await create(api)
    url = f"{CUSTOMERS}/{customer['id']}"
    fresh = await api.patch(url, json={"last_name": "Roe"}, headers={"If-Match": '"1"'})
    assert fresh.status_code == 200

    stale = await api.patch(url, json={"last_name": "Poe"}, headers={"If-Match": '"1"'})

    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["type"].endswith(":version-mismatch")
    stored = await stored_document(db, customer["id"])
    assert stored is not None
    assert (stored["version"], stored["last_name"]) == (2, "Roe")
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)
    versions = sorted(e["data"]["version"] for e in await event_sink.for_subject(customer["id"]))
    assert versions == [1, 2]
    malformed = await api.patch(url, json={"last_name": "Poe"}, headers={"If-Match": "2"})
    assert malformed.status_code == 400


async def test_soft_delete_frees_the_email_and_restore_takes_it_back_if_free(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    email = unique_email("reuse")
    first = await create(api, email=email)
    url = f"{CUSTOMERS}/{first['id']}"

    deleted = await api.delete(url)
    assert deleted.status_code == 204
    assert deleted.headers["etag"] == '"2"'
    assert (await api.get(url)).status_code == 410
    hidden = await api.get(url, params={"include_deleted": "true"})
    assert hidden.json()["customer"]["deleted_at"] is not None
    assert (await api.patch(url, json={"first_name": "X"})).status_code == 410

    second = await create(api, email=email.upper())
    blocked = await api.post(f"{url}/restore")
    assert blocked.status_code == 409
    assert blocked.json()["type"].endswith(":email-taken")

    assert (await api.delete(f"{CUSTOMERS}/{second['id']}")).status_code == 204
    restored = await api.post(f"{url}/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["customer"]["deleted_at"] is None
    assert restored.json()["customer"]["version"] == 3
    await event_sink.wait_for_version(first["id"], 3, within=15)
    types = {e["data"]["version"]: e["type"] for e in await event_sink.for_subject(first["id"])}
    assert types == {1: "customer.created", 2: "customer.deleted", 3: "customer.restored"}


async def test_twenty_concurrent_registrations_of_one_email_admit_exactly_one(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Letters only, so that the 20 spellings below all differ.
    local = "race" + "".join(chr(ord("a") + int(d, 16) % 26) for d in uuid.uuid4().hex[:10])
    spellings = [
        "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate(local)) + "@Example.com"
        for n in range(20)
    ]
    assert len({s.lower() for s in spellings}) == 1
    assert len(set(spellings)) == 20

    responses = await asyncio.gather(
        *(api.post(CUSTOMERS, json=customer_body(email=email)) for email in spellings)
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["type"].endswith(":email-taken")
        assert refused.json()["errors"][0]["field"] == "email"
    rows = await db.fetch(
        "SELECT convert_from(value, 'UTF8') AS doc FROM dapr_state "
        "WHERE key LIKE 'customer-service||customer:%' "
        "AND lower(convert_from(value, 'UTF8')) LIKE $1",
        f"%{local.lower()}%",
    )
    stored = [json.loads(row["doc"]) for row in rows]
    assert [doc["email"].lower() for doc in stored] == [f"{local}@example.com"]


async def test_an_email_change_moves_the_claim(api: httpx.AsyncClient) -> None:
    old, new = unique_email("old"), unique_email("new")
    customer = await create(api, email=old)
    holder = await create(api, email=unique_email("holder"))

    taken = await api.patch(f"{CUSTOMERS}/{customer['id']}", json={"email": holder["email"]})
    assert taken.status_code == 409
    moved = await api.patch(f"{CUSTOMERS}/{customer['id']}", json={"email": new})
    assert moved.status_code == 200

    # The old address is free again, the new one is not.
    assert (await api.post(CUSTOMERS, json=customer_body(email=old))).status_code == 201
    assert (await api.post(CUSTOMERS, json=customer_body(email=new))).status_code == 409


async def test_a_claim_left_by_a_crash_does_not_lock_the_email_forever(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient
) -> None:
    """A registration that died after claiming its email (no customer was
    ever stored) blocks the email while its claim is young, not after."""

    async def leave_claim(email: str, age: timedelta) -> None:
        since = (datetime.now(UTC) - age).isoformat().replace("+00:00", "Z")
        saved = await sidecar.post(
            "/v1.0/state/customer-store",
            json=[
                {
                    "key": f"claim:{email_key(email)}",
                    "value": {"customer_id": str(uuid.uuid4()), "since": since},
                }
            ],
        )
        assert saved.status_code == 204

    young, old = unique_email("young"), unique_email("old")
    await leave_claim(young, timedelta(seconds=5))
    await leave_claim(old, timedelta(minutes=5))

    assert (await api.post(CUSTOMERS, json=customer_body(email=young))).status_code == 409
    assert (await api.post(CUSTOMERS, json=customer_body(email=old))).status_code == 201


async def test_lookup_by_legacy_id_and_its_uniqueness(api: httpx.AsyncClient) -> None:
    legacy_id = f"LEG-{uuid.uuid4().hex[:8]}"
    customer = await create(api, legacy_id=legacy_id)

    found = await api.get(f"{CUSTOMERS}/by-legacy-id/{legacy_id}")
    assert found.status_code == 200
    assert found.json()["customer"]["id"] == customer["id"]
    assert (await api.get(f"{CUSTOMERS}/by-legacy-id/NOPE-{legacy_id}")).status_code == 404
    duplicate = await api.post(CUSTOMERS, json=customer_body(legacy_id=legacy_id))
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith(":legacy-id-taken")


async def test_a_retried_create_with_the_same_idempotency_key_creates_once(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    key = str(uuid.uuid4())
    body = customer_body()

    first = await api.post(CUSTOMERS, json=body, headers={"Idempotency-Key": key})
    retry = await api.post(CUSTOMERS, json=body, headers={"Idempotency-Key": key})
    other = await api.post(
        CUSTOMERS, json={**body, "first_name": "Other"}, headers={"Idempotency-Key": key}
    )

    assert first.status_code == retry.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert other.status_code == 422
    assert other.json()["type"].endswith(":idempotency-key-reused")
    customer_id = first.json()["customer"]["id"]
    await event_sink.wait_for({customer_id}, within=15)
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)
    assert len(await event_sink.for_subject(customer_id)) == 1


async def test_groups_come_from_configuration(api: httpx.AsyncClient) -> None:
    assert (await create(api))["customer_group_id"] == "retail"
    assert (await create(api, customer_group_id="vip"))["customer_group_id"] == "vip"
    unknown = await api.post(CUSTOMERS, json=customer_body(customer_group_id="platinum"))
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["customer_group_id"]
