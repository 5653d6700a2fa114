"""Where a customer's token is checked against its session: the authenticator
(ended sessions, in O(1)), the actor calls a route makes (they name the
session), and the reads answered from the stored document."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.ended_sessions import EndedSessions
from actors.customer_protocol import (
    CREATE,
    GET,
    GET_ADDRESSES,
    UPDATE,
    CustomerShown,
    Read,
    ReadCustomer,
)
from actors.protocol import Refused
from domain.commands import CreateCustomer, UpdateCustomer
from domain.errors import Refusal
from domain.model import CustomerStatus
from domain.sessions import Access
from security.access_tokens import Session, TokenIssuer
from service.actor_replies import CustomerActors
from service.authentication import Authenticator, Principal, Role
from service.origin import DIRECT
from service.problems import Problem
from service.stored_reads import StoredCustomers
from tests.unit.builders import new_customer

ISSUER = TokenIssuer("s" * 40, "customer-service", "shop", timedelta(minutes=15))
NOW = datetime.now(UTC)


def bearer(roles: list[str], session: Session | None = None) -> str:
    return "Bearer " + ISSUER.issue("c1", roles, NOW, session)


def refusal(authenticator: Authenticator, authorization: str) -> tuple[int, str]:
    with pytest.raises(Problem) as refused:
        authenticator.authenticate(DIRECT, authorization)
    return refused.value.status, refused.value.slug


def known_ended(*session_ids: str) -> EndedSessions:
    ended = EndedSessions(keep=timedelta(minutes=15))
    ended.add(session_ids)
    ended.current = True
    return ended


def test_a_customers_token_names_a_session_that_has_not_ended() -> None:
    ended = known_ended()
    authenticator = Authenticator(ISSUER, ended)
    token = bearer(["customer"], Session("s1", 4))

    assert authenticator.authenticate(DIRECT, token) == Principal(
        "c1", Role.CUSTOMER, "s1", Access(4)
    )
    ended.add(["s1"])
    assert refusal(authenticator, token) == (401, "session-ended")
    assert refusal(authenticator, bearer(["customer"])) == (401, "unauthenticated")
    # The gate asks the same question of calls through Dapr that carry a token.
    assert not authenticator.bearer_is_valid([(b"authorization", token.encode())])


def test_while_ended_sessions_are_unknown_a_customers_token_is_told_to_retry() -> None:
    ended = known_ended()
    ended.current = False  # e.g. the feed's connection dropped and has not reloaded
    authenticator = Authenticator(ISSUER, ended)
    token = bearer(["customer"], Session("s1", 0))

    with pytest.raises(Problem) as refused:
        authenticator.authenticate(DIRECT, token)
    assert (refused.value.status, refused.value.slug) == (503, "sessions-unavailable")
    # A known ended session is still refused for good, and an admin's token passes.
    ended.add(["s2"])
    assert refusal(authenticator, bearer(["customer"], Session("s2", 0))) == (
        401,
        "session-ended",
    )
    assert authenticator.authenticate(DIRECT, bearer(["admin"])).role is Role.ADMIN
    # The gate lets the call in: the route answers the 503.
    assert authenticator.bearer_is_valid([(b"authorization", token.encode())])


def test_an_admins_token_belongs_to_no_session() -> None:
    authenticator = Authenticator(ISSUER, known_ended("s1"))
    for token in (bearer(["admin"]), bearer(["admin"], Session("s1", 0))):
        principal = authenticator.authenticate(DIRECT, token)
        assert (principal.role, principal.access) == (Role.ADMIN, None)


class Recorded:
    """The actor client's side: what each call sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def call(self, customer_id: str, method: object, request: Any) -> Any:
        self.sent.append(request)
        return object()


async def test_every_actor_call_a_customers_route_makes_names_its_session() -> None:
    client = Recorded()
    customers = CustomerActors(client)  # type: ignore[arg-type]
    bound = customers.acting_for(Access(2))

    await bound.ask("c1", GET, ReadCustomer(include_deleted=True))
    await bound.ask("c1", UPDATE, UpdateCustomer({"first_name": "X"}))
    create = CreateCustomer(customer_id="c1", email="a@example.com")
    await bound.ask("c1", CREATE, create)
    await customers.ask("c1", GET, ReadCustomer())

    assert client.sent == [
        ReadCustomer(include_deleted=True, access=Access(2)),
        UpdateCustomer({"first_name": "X"}, access=Access(2)),
        create,  # nothing to name: an admin's command
        ReadCustomer(),
    ]
    assert customers.acting_for(None) is customers


class StoredRows:
    """A pool whose one table is the state store's: key -> stored JSON bytes."""

    def __init__(self, rows: dict[str, bytes]) -> None:
        self.rows = rows
        self.timeouts: list[float | None] = []

    @asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[StoredRows]:  # noqa: ASYNC109
        self.timeouts.append(timeout)
        yield self

    async def fetchval(self, query: str, key: str) -> bytes | None:
        assert query.startswith("SELECT value FROM")
        return self.rows.get(key)


def stored(*customers: dict[str, Any]) -> tuple[StoredCustomers, StoredRows]:
    rows = StoredRows(
        {f"customer-service||customer:{c['id']}": json.dumps(c).encode() for c in customers}
    )
    return StoredCustomers(rows, "customer-service", "customer"), rows  # type: ignore[arg-type]


async def test_reads_go_to_the_stored_document_naming_the_session_commands_to_the_actor() -> None:
    customer = new_customer()
    reads, rows = stored(customer.to_document())
    client = Recorded()
    bound = CustomerActors(client, reads).acting_for(Access(0))  # type: ignore[arg-type]

    shown = await bound.call(customer.id, GET, ReadCustomer())
    assert isinstance(shown, CustomerShown)
    assert shown.customer["id"] == customer.id
    await bound.ask(customer.id, UPDATE, UpdateCustomer({"first_name": "X"}))

    assert client.sent == [UpdateCustomer({"first_name": "X"}, access=Access(0))]
    assert rows.timeouts == [5.0]  # an exhausted pool answers 503, it does not hang
    older = (
        await CustomerActors(client, reads)  # type: ignore[arg-type]
        .acting_for(Access(1))
        .call(customer.id, GET_ADDRESSES, Read())
    )
    assert isinstance(older, Refused)
    assert older.code is Refusal.SESSION_ENDED


async def test_a_stored_read_refuses_as_the_actor_would() -> None:
    customer = new_customer()
    suspended = dataclasses.replace(
        customer, id="c-suspended", status=CustomerStatus.SUSPENDED
    ).to_document()
    deleted = dataclasses.replace(customer, id="c-deleted", deleted_at=NOW).to_document()
    reads, _ = stored(customer.to_document(), suspended, deleted)

    async def code(customer_id: str, query: ReadCustomer) -> Refusal | None:
        reply = await reads.answer(customer_id, GET, query)
        return reply.code if isinstance(reply, Refused) else None

    assert await code(customer.id, ReadCustomer(access=Access(0))) is None
    assert await code(customer.id, ReadCustomer(access=Access(3))) is Refusal.SESSION_ENDED
    assert await code("c-suspended", ReadCustomer(access=Access(0))) is Refusal.ACCOUNT_DISABLED
    assert await code("c-suspended", ReadCustomer()) is None  # an admin sees it
    assert await code("c-deleted", ReadCustomer()) is Refusal.DELETED
    assert await code("c-deleted", ReadCustomer(include_deleted=True)) is None
    assert await code("c-missing", ReadCustomer()) is Refusal.NOT_FOUND
