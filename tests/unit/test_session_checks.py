"""Where a customer's token is checked against its session: the authenticator
(ended sessions, in O(1)), the actor calls a route makes (they name the
session), and a route that reads the stored document itself."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.customer_protocol import CREATE, GET, UPDATE, ReadCustomer
from domain.commands import CreateCustomer, UpdateCustomer
from domain.model import CustomerStatus
from domain.sessions import Access
from security.access_tokens import Session, TokenIssuer
from service.actor_replies import CustomerActors
from service.auth import allow_stored
from service.authentication import Authenticator, Principal, Role
from service.origin import DIRECT
from service.problems import Problem
from tests.unit.builders import new_customer

ISSUER = TokenIssuer("s" * 40, "customer-service", "shop", timedelta(minutes=15))
NOW = datetime.now(UTC)


def bearer(roles: list[str], session: Session | None = None) -> str:
    return "Bearer " + ISSUER.issue("c1", roles, NOW, session)


def refusal(authenticator: Authenticator, authorization: str) -> tuple[int, str]:
    with pytest.raises(Problem) as refused:
        authenticator.authenticate(DIRECT, authorization)
    return refused.value.status, refused.value.slug


def test_a_customers_token_names_a_session_that_has_not_ended() -> None:
    ended: set[str] = set()
    authenticator = Authenticator(ISSUER, ended)
    token = bearer(["customer"], Session("s1", 4))

    assert authenticator.authenticate(DIRECT, token) == Principal(
        "c1", Role.CUSTOMER, "s1", Access(4)
    )
    ended.add("s1")
    assert refusal(authenticator, token) == (401, "session-ended")
    assert refusal(authenticator, bearer(["customer"])) == (401, "unauthenticated")
    # The gate asks the same question of calls through Dapr that carry a token.
    assert not authenticator.bearer_is_valid([(b"authorization", token.encode())])


def test_an_admins_token_belongs_to_no_session() -> None:
    authenticator = Authenticator(ISSUER, {"s1"})
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


def test_a_route_reading_the_stored_document_refuses_as_the_actor_would() -> None:
    customer = new_customer()
    document = customer.to_document()
    own = Principal(customer.id, Role.CUSTOMER, "s1", Access(0))
    allow_stored(own, document)
    allow_stored(Principal("ops", Role.ADMIN), document)

    suspended = dataclasses.replace(customer, status=CustomerStatus.SUSPENDED).to_document()
    older = Principal(customer.id, Role.CUSTOMER, "s1", Access(1))
    for caller, stored, slug in (
        (own, suspended, "account-disabled"),
        (older, document, "session-ended"),
    ):
        with pytest.raises(Problem) as refused:
            allow_stored(caller, stored)
        assert refused.value.slug == slug
