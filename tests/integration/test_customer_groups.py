"""Customer groups on the real stack: the registry, its events, and the live set
that creates and updates of customers are validated against."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from devstack.stack import Infrastructure
from domain.groups import (
    CreateGroup,
    DeleteGroup,
    GroupCommand,
    GroupRegistry,
    UpdateGroup,
    decide_group,
)
from readmodel.groups import record_groups
from readmodel.projector import Event, Projector, Verdict
from security.event_signature import signed
from tests.integration.conftest import (
    GROUP_DELETE_SETTLE_SECONDS,
    CallerSidecars,
    EventSink,
    customer_body,
    customer_token,
)
from tests.integration.test_read_model import fresh_database
from tests.support.credentials import EVENT_KEYS
from tests.support.documents import stored_document
from tests.support.polling import eventually

GROUPS = "/api/v1/customer-groups"
CUSTOMERS = "/api/v1/customers"
INVOKE = "/v1.0/invoke/customer-service/method"


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(":" + slug), body
    return body


async def stored_registry(db: asyncpg.Connection) -> Any:
    return await db.fetchval(
        "SELECT convert_from(value, 'UTF8') FROM dapr_state WHERE key = $1",
        "customer-service||customer-groups:registry",
    )


async def test_every_signed_in_caller_lists_the_groups(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    listed = await api.get(GROUPS)
    assert listed.status_code == 200, listed.text
    ids = {g["id"] for g in listed.json()["customer_groups"]}
    assert {"retail", "wholesale", "vip"} <= ids  # the configured list seeds them
    customer = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]
    own = {"authorization": f"Bearer {customer_token(customer['id'])}"}
    assert (await anonymous.get(GROUPS, headers=own)).status_code == 200
    problem(
        await anonymous.post(GROUPS, json={"id": "mine", "name": "x"}, headers=own),
        403,
        "forbidden",
    )
    problem(await anonymous.get(f"{GROUPS}/retail", headers=own), 403, "forbidden")
    assert (await anonymous.get(GROUPS)).status_code == 401
    sidecar = caller_sidecars("order-service")
    async with httpx.AsyncClient(
        base_url=sidecar.url, headers={"dapr-api-token": sidecar.api_token}
    ) as orders:  # a read caller
        assert (await orders.get(INVOKE + GROUPS)).status_code == 200
        assert (
            await orders.post(INVOKE + GROUPS, json={"id": "x", "name": "x"})
        ).status_code == 403


async def test_bad_group_bodies_are_422_and_nothing_is_stored(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await stored_registry(db)
    refused = problem(
        await api.post(
            GROUPS,
            json={
                "id": "Not An Id!",
                "name": "",
                "attributes": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
                "x": 1,
            },
        ),
        422,
        "validation-failed",
    )
    assert {e["field"].split(".")[0] for e in refused["errors"]} == {
        "id",
        "name",
        "attributes",
        "x",
    }
    problem(await api.patch(f"{GROUPS}/retail", json={"active": None}), 422, "validation-failed")
    problem(await api.get(f"{GROUPS}/NOPE"), 422, "validation-failed")
    problem(await api.get(f"{GROUPS}/no-such-group"), 404, "customer-group-not-found")
    problem(
        await api.patch(f"{GROUPS}/no-such-group", json={"name": "x"}),
        404,
        "customer-group-not-found",
    )
    problem(await api.delete(f"{GROUPS}/no-such-group"), 404, "customer-group-not-found")
    problem(
        await api.post(GROUPS, json={"id": "retail", "name": "again"}), 409, "customer-group-exists"
    )
    assert await stored_registry(db) == before


async def test_the_default_group_stays(api: httpx.AsyncClient) -> None:
    problem(
        await api.patch(f"{GROUPS}/retail", json={"active": False}), 409, "default-group-required"
    )
    problem(await api.delete(f"{GROUPS}/retail"), 409, "default-group-required")
    shown = await api.get(f"{GROUPS}/retail")
    assert shown.json()["customer_group"]["active"] is True


async def test_a_group_lives_is_retired_emptied_and_deleted(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    group_id = f"g-{secrets.token_hex(4)}"
    made = await api.post(
        GROUPS,
        json={"id": group_id, "name": "Gold", "description": "Best", "attributes": {"discount": 5}},
    )
    assert made.status_code == 201, made.text
    assert (made.headers["etag"], made.headers["location"]) == ('"1"', f"{GROUPS}/{group_id}")
    assert made.json()["customer_group"]["attributes"] == {"discount": 5}

    # The live set: a customer may be given the new group at once.
    member = await api.post(CUSTOMERS, json=customer_body(customer_group_id=group_id))
    assert member.status_code == 201, member.text
    cid = member.json()["customer"]["id"]
    # Another member, soft-deleted: it may be restored, so it still counts.
    away = await api.post(CUSTOMERS, json=customer_body(customer_group_id=group_id))
    assert away.status_code == 201, away.text
    away_id = away.json()["customer"]["id"]
    assert (await api.delete(f"{CUSTOMERS}/{away_id}")).status_code == 204

    problem(await api.delete(f"{GROUPS}/{group_id}"), 409, "customer-group-not-retired")
    stale = await api.patch(
        f"{GROUPS}/{group_id}", json={"active": False}, headers={"if-match": '"9"'}
    )
    problem(stale, 412, "version-mismatch")
    retired = await api.patch(
        f"{GROUPS}/{group_id}", json={"active": False}, headers={"if-match": '"1"'}
    )
    assert retired.status_code == 200, retired.text
    assert (retired.json()["customer_group"]["active"], retired.headers["etag"]) == (False, '"2"')
    assert retired.json()["customer_group"]["retired_at"] is not None
    # Retired just now: a change that saw it active may not be projected yet.
    settling = problem(await api.delete(f"{GROUPS}/{group_id}"), 409, "customer-group-settling")
    assert "retired less than" in settling["detail"]

    # Retired: given to no one any more, by a create or an update.
    refused = problem(
        await api.post(CUSTOMERS, json=customer_body(customer_group_id=group_id)),
        422,
        "validation-failed",
    )
    assert [e["field"] for e in refused["errors"]] == ["customer_group_id"]
    other = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]
    moved_in = await api.patch(f"{CUSTOMERS}/{other['id']}", json={"customer_group_id": group_id})
    problem(moved_in, 422, "validation-failed")
    # A member's whole profile sent back, its group unchanged: not a move into it.
    resent = await api.patch(
        f"{CUSTOMERS}/{cid}", json={"customer_group_id": group_id, "first_name": "Resent"}
    )
    assert resent.status_code == 200, resent.text
    assert resent.json()["customer"]["customer_group_id"] == group_id

    async def projected(version: int) -> bool | None:
        row = await db.fetchval("SELECT version FROM customers WHERE id = $1::uuid", cid)
        return True if row == version else None

    await eventually(lambda: projected(2), what="the member in the read model")

    async def settled() -> httpx.Response | None:
        answer = await api.delete(f"{GROUPS}/{group_id}")
        return None if answer.status_code == 409 and "settling" in answer.text else answer

    within = GROUP_DELETE_SETTLE_SECONDS + 10
    in_use = await eventually(settled, within=within, what="the settle window's end")
    problem(in_use, 409, "customer-group-in-use")
    moved = await api.patch(f"{CUSTOMERS}/{cid}", json={"customer_group_id": "retail"})
    assert moved.status_code == 200
    await eventually(lambda: projected(3), what="the member moved in the read model")
    # The soft-deleted member still holds it; restored, it joins the default group.
    problem(await api.delete(f"{GROUPS}/{group_id}"), 409, "customer-group-in-use")
    back = await api.post(f"{CUSTOMERS}/{away_id}/restore")
    assert back.status_code == 200, back.text
    assert back.json()["customer"]["customer_group_id"] == "retail"

    async def away_moved() -> bool | None:
        row = await db.fetchval(
            "SELECT customer_group_id FROM customers WHERE id = $1::uuid", away_id
        )
        return True if row == "retail" else None

    await eventually(away_moved, what="the restored member in the default group")
    deleted = await api.delete(f"{GROUPS}/{group_id}")
    assert deleted.status_code == 204, deleted.text
    problem(await api.get(f"{GROUPS}/{group_id}"), 404, "customer-group-not-found")
    assert group_id not in {g["id"] for g in (await api.get(GROUPS)).json()["customer_groups"]}

    async def events() -> list[dict[str, Any]] | None:
        found = await event_sink.for_subject(group_id)
        return found if len(found) == 3 else None

    seen = sorted(
        await eventually(events, what="the group's events"), key=lambda e: e["data"]["version"]
    )
    assert [e["type"] for e in seen] == [
        "customer_group.created",
        "customer_group.retired",
        "customer_group.deleted",
    ]
    assert seen[1]["data"]["changes"]["active"] == {"before": True, "after": False}
    assert seen[2]["data"]["deleted"] is True

    async def row_gone() -> bool | None:
        row = await db.fetchval("SELECT id FROM customer_groups WHERE id = $1", group_id)
        return True if row is None else None

    await eventually(row_gone, what="the read model's group list")
    document = await stored_document(db, cid)
    assert document is not None
    assert document["customer_group_id"] == "retail"
    # Its id is not used again: a new group's versions would start below the deletion's.
    again = await api.post(GROUPS, json={"id": group_id, "name": "Gold again"})
    assert "deleted" in problem(again, 409, "customer-group-exists")["detail"]
    assert group_id in json.loads(await stored_registry(db))["deleted"]
    tombstone = await db.fetchval(
        "SELECT version FROM customer_group_tombstones WHERE id = $1", group_id
    )
    assert tombstone == 3


async def test_the_group_list_follows_versions_and_a_deleted_group_stays_gone(
    infra: Infrastructure,
) -> None:
    """Events delivered late, twice or out of order: the highest version wins, and
    nothing older than a deletion brings the group back."""
    now = datetime.now(UTC)
    registry = GroupRegistry.seeded(("retail",), now)
    steps: list[GroupCommand] = [
        CreateGroup("gold", "Gold"),
        UpdateGroup("gold", {"active": False}),
        DeleteGroup("gold", in_use=False),
    ]
    events = []
    for step in steps:
        decided = decide_group(registry, step, now, "retail", timedelta(0))
        assert decided.event is not None
        registry = decided.after
        data = decided.event.to_data()
        events.append(Event(decided.event.type, signed(EVENT_KEYS, decided.event.type, data)))
    created, retired, deleted = events

    async def announce(*_: object) -> None:
        return None

    conn = await fresh_database(infra, "group_versions")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/group_versions"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)

    async def row() -> int | None:
        found: int | None = await conn.fetchval(
            "SELECT version FROM customer_groups WHERE id = 'gold'"
        )
        return found

    try:
        projector = Projector(pool, EVENT_KEYS, announce)
        # The retirement before the creation: the creation, older, changes nothing.
        assert (await projector.handle(retired)).verdict is Verdict.APPLIED
        assert (await projector.handle(created)).verdict is Verdict.STALE
        assert await row() == 2
        assert (await projector.handle(deleted)).verdict is Verdict.APPLIED
        assert await row() is None
        # Late and redelivered: none brings it back.
        for late in (retired, created, deleted):
            assert (await projector.handle(late)).verdict is Verdict.STALE
        assert await row() is None
        # Neither does a start-up's list read before the deletion was projected.
        await record_groups(pool, ["retail", "gold"])
        assert await row() is None
        assert await conn.fetchval("SELECT version FROM customer_groups WHERE id = 'retail'") == 0
    finally:
        await pool.close()
        await conn.close()
