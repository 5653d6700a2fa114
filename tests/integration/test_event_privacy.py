"""What events carry on the real stack: no snapshot (no personal data) for
sign-in steps and notices, the snapshot for changes of it; a schema version
and a W3C traceparent on every event; and the read model keeps up with events
that carry no snapshot."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pyotp

from devstack.stack import Infrastructure
from domain.commands import CancelErasure, Command, RequestErasure, UpdatePreferences
from domain.decide import decide
from domain.events import EVENT_SCHEMA, WITHOUT_SNAPSHOT
from domain.policy import Policy
from readmodel.projector import Event, Projector, Verdict
from security.event_signature import signed
from tests.integration.conftest import EventSink, customer_body
from tests.integration.test_read_model import fresh_database
from tests.support.accounts import CUSTOMERS, PASSWORD, login, sign_up
from tests.support.credentials import EVENT_KEYS
from tests.support.documents import stored_document
from tests.support.polling import eventually
from tests.unit.builders import create_command

TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
# All that an event without a snapshot may carry: ids, version, the facts.
FACTS = {"customer_id", "version", "occurred_at", "changes", "signature", "locked_until"}


async def all_versions(sink: EventSink, customer_id: str, version: int) -> list[dict[str, Any]]:
    await sink.wait_for_version(customer_id, version, within=20)
    return await sink.for_subject(customer_id)


async def test_sign_in_steps_carry_no_snapshot_and_changes_of_it_do(
    anonymous: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    account = await sign_up(anonymous, db)
    url = f"{CUSTOMERS}/{account.id}/2fa"
    enrolled = await anonymous.post(
        f"{url}/enable", json={"password": PASSWORD}, headers=account.headers
    )
    assert enrolled.status_code == 201
    totp = pyotp.TOTP(enrolled.json()["secret"])
    now = datetime.now(UTC)
    confirmed = await anonymous.post(
        f"{url}/verify", json={"code": totp.at(now)}, headers=account.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    challenge = (await login(anonymous, account.email)).json()["challenge"]
    wrong = await anonymous.post(
        f"{CUSTOMERS}/login/2fa", json={"challenge": challenge, "code": "000000"}
    )
    assert wrong.status_code == 401
    right = {"challenge": challenge, "code": totp.at(now + timedelta(seconds=30))}
    assert (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=right)).status_code == 200
    for _ in range(5):  # the fifth locks the email's sign-in: a notice
        await login(anonymous, account.email, "not the password")

    async def locked() -> bool | None:  # the lock's notice is sent after the answer
        events = await event_sink.for_subject(account.id)
        return True if any(e["type"] == "customer.locked" for e in events) else None

    await eventually(locked, within=20, what="the lockout's notice")
    stored = await stored_document(db, account.id)
    assert stored is not None
    events = await all_versions(event_sink, account.id, stored["version"])
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    expected_without = {
        "customer.2fa.enrollment_started",
        "customer.second_factor_requested",
        "customer.login_failed",
        "customer.locked",
    }
    assert expected_without <= by_type.keys()
    assert expected_without <= WITHOUT_SNAPSHOT
    for kind in expected_without:
        for data in by_type[kind]:
            assert "snapshot" not in data
            assert set(data) <= FACTS, set(data) - FACTS
            text = json.dumps(data).lower()
            assert account.email.lower() not in text
            assert "ann" not in text  # the first name given at sign-up
    # A change of the snapshot carries it: 2FA on, and each login's last_login_at.
    enabled = by_type["customer.2fa.enabled"][0]["snapshot"]
    assert enabled["two_factor_enabled"] is True
    logins = by_type["customer.logged_in"]
    assert all(data["snapshot"]["last_login_at"] for data in logins)

    # The read model reaches the document's version though the last events had no snapshot.
    async def caught_up() -> bool | None:
        row = await db.fetchval("SELECT version FROM customers WHERE id = $1", account.id)
        return True if row == stored["version"] else None

    await eventually(caught_up, within=20, what="the read model at the stored version")


async def test_every_event_carries_its_schema_and_the_callers_trace(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    created = await api.post(CUSTOMERS, json=customer_body(), headers={"traceparent": traceparent})
    assert created.status_code == 201
    customer_id = created.json()["customer"]["id"]
    updated = await api.patch(f"{CUSTOMERS}/{customer_id}", json={"first_name": "Traced"})
    assert updated.status_code == 200

    events = await all_versions(event_sink, customer_id, 2)
    for event in events:
        assert event["dataschema"] == EVENT_SCHEMA
        assert TRACEPARENT.match(event["traceparent"]), event["traceparent"]
    first = next(e for e in events if e["data"]["version"] == 1)
    assert first["traceparent"].split("-")[1] == trace_id
    # A request without a trace still gets one of its own, not the first one's.
    second = next(e for e in events if e["data"]["version"] == 2)
    assert second["traceparent"].split("-")[1] != trace_id


async def test_an_event_without_a_snapshot_that_comes_early_is_retried_not_dropped(
    infra: Infrastructure,
) -> None:
    """Delivered before the change it follows, a snapshot-less event is a RETRY
    (the worker tries it again) and applies once that change is projected: the
    row never waits for the reconciler's resync, never regresses, skips nothing."""
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    state = None
    events = []
    steps: list[Command] = [
        create_command(customer_id=str(uuid.uuid4())),
        UpdatePreferences({"newsletter": True}),  # with its snapshot
        RequestErasure(),  # these two without
        CancelErasure(),
    ]
    for step in steps:
        now += timedelta(seconds=1)
        state, event = decide(state, step, now, policy)
        assert event is not None
        events.append(Event(event.type, signed(EVENT_KEYS, event.type, event.to_data())))
    assert state is not None
    created, preferences, asked, cancelled = events
    assert "snapshot" not in asked.data
    assert "snapshot" not in cancelled.data

    async def announce(*_: object) -> None:
        return None

    conn = await fresh_database(infra, "projection_early")
    dsn = infra.postgres_dsn.rsplit("/", 1)[0] + "/projection_early"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        projector = Projector(pool, EVENT_KEYS, announce)

        async def row() -> tuple[int, bool] | None:
            found = await conn.fetchrow(
                "SELECT c.version, p.newsletter FROM customers c "
                "JOIN customer_preferences p ON p.customer_id = c.id WHERE c.id = $1",
                uuid.UUID(state.id),
            )
            return None if found is None else (found["version"], found["newsletter"])

        # No row yet: the create is on its way.
        assert (await projector.handle(asked)).verdict is Verdict.RETRY
        assert (await projector.handle(created)).verdict is Verdict.APPLIED
        # Two ahead of the row: the change between is on its way (its snapshot).
        assert (await projector.handle(asked)).verdict is Verdict.RETRY
        assert (await projector.handle(cancelled)).verdict is Verdict.RETRY
        assert await row() == (1, False)
        assert (await projector.handle(preferences)).verdict is Verdict.APPLIED
        # The retries apply, in any order they come.
        assert (await projector.handle(cancelled)).verdict is Verdict.RETRY
        assert (await projector.handle(asked)).verdict is Verdict.APPLIED
        assert (await projector.handle(cancelled)).verdict is Verdict.APPLIED
        assert await row() == (4, True)
        # Duplicates and older events change nothing.
        for late in (asked, preferences, cancelled, created):
            assert (await projector.handle(late)).verdict is Verdict.STALE
        assert await row() == (4, True)
    finally:
        await pool.close()
        await conn.close()
