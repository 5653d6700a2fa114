"""Erasure on the real stack (README "Data protection"): asked for, cancelled,
asked again and fired by its reminder after the test stack's grace of seconds;
then nothing personal is left in Postgres, the email is free again, one
``customer.erased`` went out, and an old event replayed brings nothing back."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from devstack.stack import Infrastructure
from domain.commands import (
    AddAddress,
    Command,
    DeleteCustomer,
    EraseIfDue,
    RequestErasure,
    UpdatePreferences,
)
from domain.decide import decide
from domain.policy import Policy
from readmodel.projection import apply_snapshot
from readmodel.rebuild import rebuild
from readmodel.reconcile import Erasures, next_batch
from readmodel.rekey_claims import rekey_claims
from service.schemas import ADDRESS_EXAMPLE
from tests.integration.conftest import EventSink, customer_body
from tests.integration.test_read_model import STATE_TABLE_DDL, fresh_database
from tests.support.accounts import CUSTOMERS, PASSWORD, Account, register, sign_up, stored_holder
from tests.support.documents import stored_customers_with
from tests.support.polling import eventually
from tests.support.stacks import ERASURE_GRACE_SECONDS
from tests.unit.builders import US_ADDRESS, create_command


async def personal(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, account: Account
) -> list[str]:
    """Give the customer values found nowhere else; they are what must go."""
    mark = secrets.token_hex(5)
    profile = {
        "first_name": f"Ada{mark}",
        "last_name": f"Byron{mark}",
        "phone": "+1415555" + str(int(mark, 16) % 10_000).zfill(4),
        "legacy_id": f"legacy-{mark}",
    }
    assert (await api.patch(f"{CUSTOMERS}/{account.id}", json=profile)).status_code == 200
    line = f"{mark} Erasure Street"
    body = {
        **{k: v for k, v in ADDRESS_EXAMPLE.items() if k != "customer_id"},
        "address_line_1": line,
    }
    added = await anonymous.post(
        f"{CUSTOMERS}/{account.id}/addresses", json=body, headers=account.headers
    )
    assert added.status_code == 201, added.text
    return [account.email, profile["first_name"], profile["last_name"], profile["legacy_id"], line]


async def still_there_after(api: httpx.AsyncClient, customer_id: str, moment: datetime) -> None:
    """The customer answers 200 at every look until ``moment`` has passed."""

    async def past() -> bool | None:
        response = await api.get(f"{CUSTOMERS}/{customer_id}")
        assert response.status_code == 200, response.text
        return True if datetime.now(UTC) > moment else None

    within = (moment - datetime.now(UTC)).total_seconds() + 10
    await eventually(past, within=within, what=f"the customer still there after {moment}")


async def received(api: httpx.AsyncClient, event_type: str) -> float:
    """How many events of ``event_type`` the worker has been delivered (its metrics)."""
    prefix = f'customer_events_received_total{{type="{event_type}"}} '
    text = (await api.get("/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def found_in_postgres(db: asyncpg.Connection, values: list[str]) -> list[str]:
    """Every table of the database (state store and read model) searched for each value."""
    tables = [
        r["tablename"]
        for r in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    found = []
    for value in values:
        pattern = f"%{value}%"
        for table in tables:
            if table == "dapr_state":
                hits = await db.fetchval(
                    "SELECT count(*) FROM dapr_state "
                    "WHERE key ILIKE $1 OR convert_from(value, 'UTF8') ILIKE $1",
                    pattern,
                )
            else:
                query = f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE $1'  # noqa: S608 - catalogue names
                hits = await db.fetchval(query, pattern)
            if hits:
                found.append(f"{value} in {table}")
    return found


async def test_an_erasure_asked_cancelled_asked_again_fires_and_leaves_nothing(
    api: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    event_sink: EventSink,
    db: asyncpg.Connection,
) -> None:
    account = await sign_up(anonymous, db)
    values = await personal(api, anonymous, account)
    assert await found_in_postgres(db, values[:1])  # the search finds what is there
    url = f"{CUSTOMERS}/{account.id}/erasure"
    own = account.headers

    missing = await anonymous.post(url, json={"immediate": True}, headers=own)
    assert missing.status_code == 422
    assert sorted(e["field"] for e in missing.json()["errors"]) == ["immediate", "password"]
    wrong = await anonymous.post(url, json={"password": "not it"}, headers=own)
    assert wrong.status_code == 403
    asked = await anonymous.post(url, json={"password": PASSWORD}, headers=own)
    assert asked.status_code == 202, asked.text
    due = datetime.fromisoformat(asked.json()["scheduled_for"])
    assert timedelta(0) < due - datetime.now(UTC) <= timedelta(seconds=ERASURE_GRACE_SECONDS + 1)
    assert (await anonymous.delete(url, headers=own)).status_code == 204
    assert (await anonymous.delete(url, headers=own)).status_code == 409
    # Cancelled: the first deadline passes and nothing happens (watched until then).
    await still_there_after(api, account.id, due + timedelta(seconds=2))

    again = await anonymous.post(url, json={"password": PASSWORD}, headers=own)
    assert again.status_code == 202

    async def gone() -> dict[str, Any] | None:
        response = await api.get(f"{CUSTOMERS}/{account.id}", params={"include_deleted": "true"})
        return response.json() if response.status_code == 410 else None

    problem = await eventually(gone, within=ERASURE_GRACE_SECONDS + 20, what="the erasure")
    assert problem["erased"] is True
    assert (await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=own)).status_code == 401

    async def erased_event() -> list[dict[str, Any]] | None:
        events = [
            e for e in await event_sink.for_subject(account.id) if e["type"] == "customer.erased"
        ]
        return events or None

    erased = await eventually(erased_event, within=20, what="customer.erased")
    data = erased[0]["data"]
    assert set(data["snapshot"]) == {"id", "version", "erased_at", "updated_at", "orders"}
    assert not [v for v in values if v.lower() in json.dumps(data).lower()]

    async def tombstoned() -> bool | None:
        row = await db.fetchval(
            "SELECT version FROM erased_customers WHERE id = $1", uuid.UUID(account.id)
        )
        return True if row == data["version"] else None

    await eventually(tombstoned, within=20, what="the tombstone in the read model")
    assert (
        await db.fetchval("SELECT count(*) FROM customers WHERE id = $1", uuid.UUID(account.id))
        == 0
    )
    assert await found_in_postgres(db, values) == []

    # The email is free: a new registration takes it.
    assert (await register(anonymous, account.email)).status_code == 202

    async def new_holder() -> str | None:
        holder = await stored_holder(db, account.email)
        return holder if holder not in (None, account.id) else None

    newcomer = await eventually(new_holder, within=20, what="a new customer with the erased email")
    # Its event was committed after the erasure: once the sink has it, a duplicate
    # erasure (a second reminder, the sweep) that came before would show too.

    async def newcomers_event() -> list[dict[str, Any]] | None:
        return await event_sink.for_subject(newcomer) or None

    await eventually(newcomers_event, within=20, what="the newcomer's event")
    erased = await erased_event() or []
    assert len({e["data"]["version"] for e in erased}) == 1


async def test_an_old_event_replayed_after_the_erasure_brings_nothing_back(
    api: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sidecar: httpx.AsyncClient,
    event_sink: EventSink,
    db: asyncpg.Connection,
) -> None:
    account = await sign_up(anonymous, db)
    values = await personal(api, anonymous, account)
    await event_sink.wait_for_version(account.id, 3, within=20)
    old = next(
        e
        for e in await event_sink.for_subject(account.id)
        if e["type"] == "customer.address.created"
    )

    now = await api.post(f"{CUSTOMERS}/{account.id}/erasure", json={"immediate": True})
    assert now.status_code == 202, now.text
    assert now.json()["erased"] is True
    # The admin's retry (its answer lost) is answered as done, the same.
    again = await api.post(f"{CUSTOMERS}/{account.id}/erasure", json={"immediate": True})
    assert again.status_code == 202, again.text
    assert again.json() == now.json()
    assert (await api.get(f"{CUSTOMERS}/{account.id}")).status_code == 410

    async def tombstoned() -> bool | None:
        row = await db.fetchval(
            "SELECT version FROM erased_customers WHERE id = $1", uuid.UUID(account.id)
        )
        return True if row is not None else None

    await eventually(tombstoned, within=20, what="the tombstone in the read model")
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "customer-service",
        "type": old["type"],
        "subject": account.id,
        "datacontenttype": "application/json",
        "data": old["data"],
    }
    received_before = await received(api, old["type"])
    published = await sidecar.post(
        "/v1.0/publish/customer-pubsub/customer-events",
        json=envelope,
        headers={"content-type": "application/cloudevents+json"},
    )
    assert published.status_code == 204

    async def replayed() -> bool | None:
        events = await event_sink.for_subject(account.id)
        return True if sum(e["data"] == old["data"] for e in events) >= 2 else None

    await eventually(replayed, within=20, what="the replayed event")

    async def projected() -> bool | None:
        return True if await received(api, old["type"]) > received_before else None

    await eventually(projected, within=20, what="the replayed event at the projector")
    assert (
        await db.fetchval("SELECT count(*) FROM customers WHERE id = $1", uuid.UUID(account.id))
        == 0
    )
    assert await found_in_postgres(db, values) == []


async def test_the_sweep_finds_due_erasures_that_no_reminder_made(
    infra: Infrastructure,
) -> None:
    """The backup of a lost reminder: the reconciler's walk names every customer
    whose erasure (asked for, or the end of a soft delete's retention) is due.
    The documents are decided here and stored in a database of their own: no
    reminder can erase one while the walk looks at it."""
    policy = Policy(customer_groups=frozenset({"retail"}), erasure_grace=timedelta(days=30))
    now = datetime.now(UTC)
    documents = {}
    steps: list[tuple[str, Command | None]] = [
        ("asked", RequestErasure()),
        ("deleted", DeleteCustomer()),
        ("kept", None),
    ]
    for name, then in steps:
        state, _ = decide(None, create_command(customer_id=str(uuid.uuid4())), now, policy)
        if then is not None:
            state, _ = decide(state, then, now, policy)
        documents[name] = state
    asked, deleted, kept = (documents[n].id for n in ("asked", "deleted", "kept"))
    conn = await fresh_database(infra, "erasure_sweep")
    try:
        await conn.execute(STATE_TABLE_DDL)
        await conn.executemany(
            "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to($2, 'UTF8'))",
            [
                (f"customer-service||customer:{c.id}", json.dumps(c.to_document()))
                for c in documents.values()
            ],
        )

        async def due_at(
            moment: datetime, retention: timedelta, upcoming: bool = False
        ) -> set[str]:
            erasures = Erasures(retention, moment, upcoming)
            batch = await next_batch(conn, "", 100_000, now + timedelta(days=1), erasures)
            return set(batch.due)

        assert await due_at(now, timedelta(days=90)) == set()
        # The first sweep after a start names the upcoming ones too (their reminders).
        assert await due_at(now, timedelta(days=90), upcoming=True) == {asked, deleted}
        later = now + policy.erasure_grace
        assert await due_at(later - timedelta(seconds=1), timedelta(days=90)) == set()
        assert await due_at(later, timedelta(days=90)) == {asked}
        assert await due_at(later, timedelta(days=30)) == {asked, deleted}
        assert kept not in await due_at(now + timedelta(days=3650), timedelta(days=1))
    finally:
        await conn.close()


async def test_the_reconciler_restores_a_lost_tombstone(
    api: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    customer_id = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]["id"]
    erased = await api.post(f"{CUSTOMERS}/{customer_id}/erasure", json={"immediate": True})
    assert erased.json()["erased"] is True
    key = uuid.UUID(customer_id)

    async def tombstone() -> int | None:
        found: int | None = await db.fetchval(
            "SELECT version FROM erased_customers WHERE id = $1", key
        )
        return found

    version = await eventually(tombstone, within=20, what="the tombstone")
    await db.execute("DELETE FROM erased_customers WHERE id = $1", key)

    await eventually(tombstone, within=30, what="the tombstone repaired by the reconciler")
    assert await tombstone() == version
    assert await db.fetchval("SELECT count(*) FROM customers WHERE id = $1", key) == 0
    resynced = [
        e for e in await event_sink.for_subject(customer_id) if e["type"] == "customer.resynced"
    ]
    assert resynced
    assert set(resynced[-1]["data"]["snapshot"]) == {
        "id",
        "version",
        "erased_at",
        "updated_at",
        "orders",
    }


async def test_rebuild_and_any_delivery_order_map_an_erased_customer_to_its_tombstone(
    infra: Infrastructure,
) -> None:
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    history: list[dict[str, Any]] = []
    state = None
    commands: list[Command] = [
        create_command(customer_id=str(uuid.uuid4())),
        AddAddress(str(uuid.uuid4()), US_ADDRESS),
        UpdatePreferences({"newsletter": True}),
        RequestErasure(immediate=True),
        EraseIfDue(),
    ]
    for command in commands:
        now += timedelta(seconds=1)
        state, event = decide(state, command, now, policy)
        assert event is not None
        if event.snapshot is not None:
            history.append(event.snapshot)
    assert state is not None
    key = uuid.UUID(state.id)
    conn = await fresh_database(infra, "projection_erasure")
    try:
        # Any order of delivery, duplicates included: only the tombstone remains.
        for snapshot in [*history, *reversed(history), history[1]]:
            async with conn.transaction():
                await apply_snapshot(conn, snapshot, [])
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
        assert await conn.fetchval("SELECT count(*) FROM customer_addresses") == 0
        assert await conn.fetchval("SELECT version FROM erased_customers WHERE id = $1", key) == (
            state.version
        )
        # A rebuild from the documents maps the erased one to the same tombstone.
        await conn.execute("TRUNCATE erased_customers")
        await conn.execute(STATE_TABLE_DDL)
        await conn.execute(
            "INSERT INTO dapr_state (key, value) VALUES ($1, convert_to($2, 'UTF8'))",
            f"customer-service||customer:{state.id}",
            json.dumps(state.to_document()),
        )
        dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/projection_erasure"
        assert await rebuild(dsn) == 1
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
        assert await conn.fetchval("SELECT version FROM erased_customers WHERE id = $1", key) == (
            state.version
        )
    finally:
        await conn.close()


async def test_tools_that_walk_every_document_pass_over_tombstones(
    api: httpx.AsyncClient, db: asyncpg.Connection, infra: Infrastructure
) -> None:
    body = customer_body()
    customer_id = (await api.post(CUSTOMERS, json=body)).json()["customer"]["id"]
    erased = await api.post(f"{CUSTOMERS}/{customer_id}/erasure", json={"immediate": True})
    assert erased.json()["erased"] is True
    report = await rekey_claims(infra.postgres_dsn, dry_run=True)
    assert report.examined >= 1
    assert await stored_customers_with(db, body["email"]) == []


async def test_claims_naming_an_erased_customer_are_deleted_by_the_sweep(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The release of an erased customer's claims is best effort: one left behind
    (put back here, as if the release had failed) goes with the reconciler's
    next sweep; a live customer's claims stay."""
    live = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]["id"]
    customer_id = (await api.post(CUSTOMERS, json=customer_body())).json()["customer"]["id"]
    mark = secrets.token_hex(5)
    legacy = await api.patch(f"{CUSTOMERS}/{customer_id}", json={"legacy_id": f"legacy-{mark}"})
    assert legacy.status_code == 200, legacy.text

    async def claims_of(holder: str) -> list[tuple[str, bytes]]:
        rows = await db.fetch(
            "SELECT key, value FROM dapr_state WHERE key LIKE 'customer-service||claim:%' "
            "AND convert_from(value, 'UTF8')::jsonb ->> 'customer_id' = $1",
            holder,
        )
        return sorted((row["key"], row["value"]) for row in rows)

    held = await claims_of(customer_id)
    assert [key.split(":", 1)[1].split("-")[0] for key, _ in held] == ["email", "legacy"]
    assert await claims_of(live)
    erased = await api.post(f"{CUSTOMERS}/{customer_id}/erasure", json={"immediate": True})
    assert erased.json()["erased"] is True

    async def none_left() -> bool | None:
        return True if await claims_of(customer_id) == [] else None

    await eventually(none_left, within=20, what="the claims released")
    # As if the release had failed: the claims are back in the state store.
    await db.executemany("INSERT INTO dapr_state (key, value) VALUES ($1, $2)", held)
    assert await claims_of(customer_id) == held

    await eventually(none_left, within=30, what="the claims deleted by the sweep")
    assert await claims_of(live)
