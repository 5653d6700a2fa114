"""The read model on the real stack: the projector, list and search, keyset
paging, segments following profiles and orders, dead letters."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from yoyo import get_backend, read_migrations

from devstack.stack import Infrastructure
from domain.commands import (
    AddAddress,
    Command,
    DeleteCustomer,
    RemoveAddress,
    RestoreCustomer,
    UpdateCustomer,
    UpdatePreferences,
)
from domain.decide import decide
from domain.model import Customer
from domain.policy import Policy
from readmodel.migrate import MIGRATIONS, apply_migrations, yoyo_url
from readmodel.projection import apply_snapshot
from readmodel.rebuild import rebuild
from tests.integration.conftest import EventSink, customer_body, unique_email
from tests.support.polling import eventually as poll
from tests.unit.builders import US_ADDRESS, create_command

CUSTOMERS = "/api/v1/customers"
T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 15) -> T:
    return await poll(check, within, "the read model catching up")


async def test_a_created_customer_is_listed_within_seconds(api: httpx.AsyncClient) -> None:
    email = unique_email("listed")
    started = time.monotonic()
    created = await api.post(CUSTOMERS, json=customer_body(email=email, first_name="Zoë"))
    customer_id = created.json()["customer"]["id"]

    async def listed() -> dict[str, Any] | None:
        page = (await api.get(CUSTOMERS, params={"email": email.upper()})).json()
        return page["customers"][0] if page["customers"] else None

    row = await eventually(listed)
    lag = time.monotonic() - started
    assert row["id"] == customer_id
    assert lag < 5
    # Accent- and case-insensitive name search finds her.
    found = (await api.get(CUSTOMERS, params={"q": "zoe", "email": email})).json()
    assert [c["id"] for c in found["customers"]] == [customer_id]


async def test_deleted_customers_are_hidden_unless_asked_for(api: httpx.AsyncClient) -> None:
    email = unique_email("hidden")
    customer_id = (await api.post(CUSTOMERS, json=customer_body(email=email))).json()["customer"][
        "id"
    ]
    await api.delete(f"{CUSTOMERS}/{customer_id}")

    async def deleted() -> bool | None:
        page = (await api.get(CUSTOMERS, params={"email": email, "include_deleted": "true"})).json()
        return True if page["customers"] and page["customers"][0]["deleted_at"] else None

    await eventually(deleted)
    assert (await api.get(CUSTOMERS, params={"email": email})).json()["customers"] == []


@pytest.fixture
async def page_group(db: asyncpg.Connection) -> AsyncIterator[str]:
    group = "page-" + secrets.token_hex(4)
    yield group
    await db.execute("DELETE FROM customers WHERE customer_group_id = $1", group)


async def insert_rows(db: asyncpg.Connection, group: str, times: list[datetime]) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in times]
    await db.executemany(
        "INSERT INTO customers (id, version, email, email_normalized, first_name, last_name, "
        "customer_type, status, customer_group_id, created_at, updated_at) "
        "VALUES ($1, 1, $2, $2, 'Page', 'Test', 'INDIVIDUAL', 'ACTIVE', $3, $4, $4)",
        [(cid, f"{cid}@example.com", group, at) for cid, at in zip(ids, times, strict=True)],
    )
    return ids


async def test_keyset_pages_never_repeat_or_skip_while_rows_arrive(
    api: httpx.AsyncClient, db: asyncpg.Connection, page_group: str
) -> None:
    base = datetime(2025, 6, 1, tzinfo=UTC)
    rng = random.Random(3)  # noqa: S311 - a reproducible spread, not a secret
    # Many rows share a created_at, so the id must break the ties.
    original = await insert_rows(
        db, page_group, [base + timedelta(minutes=rng.randrange(40)) for _ in range(130)]
    )
    for sort in ("created_at", "name"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"group": page_group, "limit": "17", "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = (await api.get(CUSTOMERS, params=params)).json()
            seen += [c["id"] for c in page["customers"]]
            # Rows arrive between pages, newer and older than the ones shown.
            await insert_rows(db, page_group, [base + timedelta(minutes=rng.randrange(-60, 100))])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), "a row was shown twice"
        assert set(original) <= set(seen), "a row that was there all along was skipped"
    bad = await api.get(CUSTOMERS, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 400
    assert (await api.get(CUSTOMERS, params={"limit": "101"})).status_code == 422


async def test_segment_membership_follows_orders_and_profile(
    api: httpx.AsyncClient, order_service: httpx.AsyncClient, event_sink: EventSink
) -> None:
    name = "big-business-" + secrets.token_hex(3)
    rules = [
        {"field": "total_orders", "operator": "gte", "value": 2, "weight": 1},
        {"field": "customer_type", "operator": "eq", "value": "BUSINESS", "weight": 1},
    ]
    created = await api.post("/api/v1/segments", json={"name": name, "rules": rules})
    assert created.status_code == 201, created.text
    segment_id = created.json()["segment"]["id"]
    bad = await api.post(
        "/api/v1/segments",
        json={"name": name + "x", "rules": [{"field": "shoe_size", "operator": "gt", "value": 1}]},
    )
    assert bad.status_code == 422
    body = customer_body(customer_type="BUSINESS")
    customer_id = (await api.post(CUSTOMERS, json=body)).json()["customer"]["id"]

    async def members() -> set[str]:
        page = (await api.get(f"/api/v1/segments/{segment_id}/customers")).json()
        return {c["id"] for c in page["customers"]}

    async def publish_order(order_id: str) -> None:
        order = {
            "order_id": order_id,
            "customer_id": customer_id,
            "total": "49.90",
            "placed_at": datetime.now(UTC).isoformat(),
        }
        # As the order service publishes them: through its own sidecar.
        response = await order_service.post(
            "/v1.0/publish/customer-pubsub/order-events", json=order
        )
        assert response.status_code == 204

    await publish_order("o-1")
    await publish_order("o-1")  # a redelivery: counted once
    await asyncio.sleep(3)
    assert customer_id not in await members()
    await publish_order("o-2")

    async def joined() -> bool | None:
        return True if customer_id in await members() else None

    await eventually(joined)
    customer = (await api.get(CUSTOMERS, params={"email": body["email"]})).json()["customers"][0]
    assert customer["total_orders"] == 2
    assert customer["total_spent"] == "99.80"
    listed = await api.get(CUSTOMERS, params={"segment": segment_id})
    assert [c["id"] for c in listed.json()["customers"]] == [customer_id]

    await api.patch(f"{CUSTOMERS}/{customer_id}", json={"customer_type": "INDIVIDUAL"})

    async def left() -> bool | None:
        return True if customer_id not in await members() else None

    await eventually(left)
    changes = [
        e["data"]
        for e in await event_sink.for_subject(customer_id)
        if e["type"] == "customer.segments.changed"
    ]
    assert {"added": [segment_id]} in [{"added": c["added"]} for c in changes]
    assert [segment_id] in [c["removed"] for c in changes]


async def test_a_malformed_event_goes_to_the_dead_letter_topic_and_the_stream_goes_on(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, event_sink: EventSink
) -> None:
    marker = secrets.token_hex(6)
    poison = {"customer_id": marker, "version": "not a number", "snapshot": None}
    published = await sidecar.post("/v1.0/publish/customer-pubsub/customer-events", json=poison)
    assert published.status_code == 204
    email = unique_email("after-poison")
    await api.post(CUSTOMERS, json=customer_body(email=email))

    async def parked() -> dict[str, Any] | None:
        letters = await event_sink.dead_letters()
        return next((d for d in letters if marker in d["data"]["event"]), None)

    letter = await eventually(parked)
    assert letter["data"]["topic"] == "customer-events"

    async def applied() -> bool | None:
        page = (await api.get(CUSTOMERS, params={"email": email})).json()
        return True if page["customers"] else None

    await eventually(applied)
    metrics = (await api.get("/metrics")).text
    assert 'customer_dead_letters_total{topic="customer-events"}' in metrics


# -- the projector against its own databases ----------------------------------------------


async def fresh_database(infra: Infrastructure, name: str) -> asyncpg.Connection:
    admin = await asyncpg.connect(infra.postgres_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    await asyncio.to_thread(apply_migrations, dsn)
    return await asyncpg.connect(dsn)


def roll_back_all(dsn: str) -> None:
    backend = get_backend(yoyo_url(dsn))
    with backend.lock():
        backend.rollback_migrations(backend.to_rollback(read_migrations(str(MIGRATIONS))))


async def test_the_migrations_roll_back_and_apply_again_the_phone_index_built_concurrently(
    infra: Infrastructure,
) -> None:
    """0005 builds its index CONCURRENTLY (outside a transaction, a yoyo directive):
    it ends valid, and every migration rolls back and applies again."""
    conn = await fresh_database(infra, "migrations_check")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/migrations_check"
    valid = (
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'idx_customers_phone'"
    )
    try:
        assert await conn.fetchval(valid) is True
        await asyncio.to_thread(roll_back_all, dsn)
        assert await conn.fetchval(valid) is None
        assert await conn.fetchval("SELECT to_regclass('customer_group_tombstones')") is None
        applied = await asyncio.to_thread(apply_migrations, dsn)
        assert applied[-1] == "0007_group_versions"
        assert await conn.fetchval(valid) is True
    finally:
        await conn.close()


# The columns of the postgres state store's (v2) table that the read model reads.
STATE_TABLE_DDL = (
    "CREATE TABLE dapr_state (key text PRIMARY KEY, value bytea NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz)"
)


def event_history() -> list[dict[str, Any]]:
    """The snapshots of a few customers' lives, as their events carry them."""
    policy = Policy(customer_groups=frozenset({"retail"}))
    snapshots = []
    clock = datetime(2026, 2, 1, tzinfo=UTC)
    for n in range(4):
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        steps: list[Command] = [
            create_command(customer_id=str(uuid.uuid4()), email=f"h{n}@example.com"),
            AddAddress(first, US_ADDRESS),
            AddAddress(second, {**US_ADDRESS, "type": "BILLING"}, is_default=True),
            UpdateCustomer({"first_name": f"Name{n}"}),
            UpdatePreferences({"newsletter": True}),
            RemoveAddress(first),
            DeleteCustomer(),
            RestoreCustomer(),
            UpdateCustomer({"last_name": "Ångström"}),
        ]
        state = None
        for command in steps:
            clock += timedelta(seconds=1)
            state, event = decide(state, command, clock, policy)
            assert event is not None
            assert event.snapshot is not None
            snapshots.append(event.snapshot)
    return snapshots


async def dump(conn: asyncpg.Connection) -> list[list[tuple[Any, ...]]]:
    tables = []
    for sql in (
        "SELECT * FROM customers ORDER BY id",
        "SELECT * FROM customer_addresses ORDER BY id",
        "SELECT * FROM customer_preferences ORDER BY customer_id",
    ):
        rows = await conn.fetch(sql)
        tables.append([tuple(v for k, v in r.items() if k != "projected_at") for r in rows])
    return tables


async def test_shuffled_and_duplicated_delivery_builds_the_same_tables(
    infra: Infrastructure,
) -> None:
    history = event_history()
    in_order = await fresh_database(infra, "projection_in_order")
    shuffled = await fresh_database(infra, "projection_shuffled")
    try:
        for snapshot in history:
            async with in_order.transaction():
                await apply_snapshot(in_order, snapshot, [])
        messy = history + random.Random(11).sample(history, len(history) // 2)  # noqa: S311
        random.Random(5).shuffle(messy)  # noqa: S311
        for snapshot in messy:
            async with shuffled.transaction():
                await apply_snapshot(shuffled, snapshot, [])
        expected = await dump(in_order)
        assert expected[0], "nothing was projected"
        assert await dump(shuffled) == expected
    finally:
        await in_order.close()
        await shuffled.close()


async def test_rebuild_recreates_the_read_model_from_the_documents(
    infra: Infrastructure,
) -> None:
    """The documents are the truth: a rebuild drops every row (a stray one
    included) and projects each stored document again."""
    conn = await fresh_database(infra, "projection_rebuild")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/projection_rebuild"
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        await conn.execute(STATE_TABLE_DDL)
        documents = []
        for _ in range(3):
            state, _ = decide(None, create_command(customer_id=str(uuid.uuid4())), now, policy)
            state, _ = decide(state, AddAddress(str(uuid.uuid4()), US_ADDRESS), now, policy)
            documents.append(state.to_document())
        await conn.executemany(
            "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to($2, 'UTF8'))",
            [(f"customer-service||customer:{d['id']}", json.dumps(d)) for d in documents],
        )
        await insert_rows(conn, "stray", [now])

        projected = await rebuild(dsn)

        assert projected == 3
        ids = {str(r["id"]) for r in await conn.fetch("SELECT id FROM customers")}
        assert ids == {d["id"] for d in documents}
        assert await conn.fetchval("SELECT count(*) FROM customer_addresses") == 3
    finally:
        await conn.close()


async def test_lists_keep_answering_while_the_read_model_is_rebuilt(
    infra: Infrastructure,
) -> None:
    """The new read model is built beside the live one and swapped in: a list
    never comes back empty meanwhile, and ends with exactly the documents."""
    conn = await fresh_database(infra, "projection_rebuild_live")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/projection_rebuild_live"
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        await conn.execute(STATE_TABLE_DDL)
        documents = [
            decide(None, create_command(customer_id=str(uuid.uuid4())), now, policy)[
                0
            ].to_document()
            for _ in range(600)
        ]
        await conn.executemany(
            "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to($2, 'UTF8'))",
            [(f"customer-service||customer:{d['id']}", json.dumps(d)) for d in documents],
        )
        async with conn.transaction():
            for document in documents[:50]:
                snapshot = Customer.from_document(document).snapshot()
                await apply_snapshot(conn, snapshot, [])
        counts: list[int] = []
        building = asyncio.create_task(rebuild(dsn))
        while not building.done():
            counts.append(await conn.fetchval("SELECT count(*) FROM customers"))
            await asyncio.sleep(0.01)
        assert await building == 600
        assert counts, "the rebuild finished before a single list"
        assert min(counts) >= 50, "the live read model was emptied during the rebuild"
        assert await conn.fetchval("SELECT count(*) FROM customers") == 600
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'readmodel_%'"
        )
        assert schemas == []
    finally:
        await conn.close()


async def test_a_rebuild_passes_over_documents_it_cannot_read(infra: Infrastructure) -> None:
    conn = await fresh_database(infra, "projection_rebuild_bad")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/projection_rebuild_bad"
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        await conn.execute(STATE_TABLE_DDL)
        good = decide(None, create_command(customer_id=str(uuid.uuid4())), now, policy)[0]
        rows = [
            (f"customer-service||customer:{good.id}", json.dumps(good.to_document())),
            (f"customer-service||customer:{uuid.uuid4()}", "{not json"),
            (f"customer-service||customer:{uuid.uuid4()}", json.dumps({"id": "no version"})),
        ]
        await conn.executemany(
            "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to($2, 'UTF8'))", rows
        )

        projected = await rebuild(dsn)

        assert projected == 1
        ids = {str(r["id"]) for r in await conn.fetch("SELECT id FROM customers")}
        assert ids == {good.id}
    finally:
        await conn.close()
