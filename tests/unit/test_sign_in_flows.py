"""The sign-in flows tell nobody whether an email belongs to a customer.

In process: the flows (service/sign_in.py) over the real Customer actor class
and handlers, with the store, claims and throttle counters in memory. Equal
timing is shown by structure: every path of a login that checks a password
(unknown email, wrong password, the failure that locks, a locked email) runs
exactly one bcrypt check and the same actor hops; a throttled one runs none,
for any email; registration and password reset answer before anything looks
the email up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

import actors.sign_in as sign_in_facts
from actors.client import ActorClient
from actors.customer_actor import CustomerHandlers
from actors.customer_protocol import CUSTOMER
from actors.customer_shell import CustomerShell
from actors.sign_in import SignInFacts
from domain.commands import RegisterCustomer
from domain.events import (
    CUSTOMER_LOCKED,
    CUSTOMER_REGISTERED,
    PASSWORD_RESET_REQUESTED,
    REGISTRATION_ATTEMPTED,
)
from domain.model import CustomerStatus
from domain.throttles import Limit, Lockout, ThrottlePolicy
from domain.unique_keys import email_key
from security import passwords
from security.command_secrets import CommandSecrets
from security.keyring import Keyring
from security.macs import MacKeyring
from security.one_time import digest
from service.actor_replies import CustomerActors
from service.background import Background
from service.problems import Problem
from service.sessions import Client, Tokens
from service.sign_in import SignIn, SignInSecrets, decoy_actor
from service.throttling import Throttles
from tests.unit.builders import CUSTOMER_ID, NOW, POLICY, create_command
from tests.unit.fakes import (
    FakeClaims,
    FakeSessions,
    FakeStore,
    FakeThrottleStore,
    InProcessActors,
)

KNOWN = "Customer@Example.com"
UNKNOWN = "nobody@example.com"
PASSWORD = "the right password"
CLIENT = Client("203.0.113.7", "test")
KEYS = MacKeyring({"c1": b"c" * 32})
SECRETS = SignInSecrets(
    totp_keys=Keyring({"t1": b"t" * 32}),
    notification_keys=Keyring({"n1": b"n" * 32}),
    decoy=passwords.DecoyHash(4),
    command_secrets=CommandSecrets(KEYS),
)


class Holders:
    """Who claimed an email, as the claim store answers."""

    def __init__(self, claims: FakeClaims) -> None:
        self._claims = claims

    async def holder(self, key: str) -> str | None:
        return self._claims.holders.get(key)


class OpenedSessions:
    async def open(self, customer_id: str, epoch: int, client: Client) -> Tokens:
        return Tokens("access", 900, customer_id, f"{customer_id}.refresh", 86400)


@dataclasses.dataclass
class World:
    store: FakeStore
    actors: InProcessActors
    counters: FakeThrottleStore
    background: Background
    flows: SignIn

    def events(self) -> list[str]:
        return [event.type for event in self.store.events]


def world(limit: int = 100) -> World:
    store, claims = FakeStore(), FakeClaims()
    facts = SignInFacts(SECRETS.totp_keys, SECRETS.decoy, SECRETS.command_secrets, 4)

    def handlers(customer_id: str) -> CustomerHandlers:
        sessions = FakeSessions()
        shell = CustomerShell(customer_id, store, claims, POLICY, sessions=sessions)
        return CustomerHandlers(shell, facts)

    actors = InProcessActors(handlers)
    customers = CustomerActors(ActorClient(actors, CUSTOMER))  # type: ignore[arg-type]
    counters = FakeThrottleStore(NOW)
    policy = ThrottlePolicy(
        limits=dict.fromkeys(ThrottlePolicy().limits, Limit(limit, limit)),
        lockout=Lockout(threshold=3, window=timedelta(minutes=15)),
    )
    throttles = Throttles(counters, policy)  # type: ignore[arg-type]
    background = Background()
    flows = SignIn(
        customers,
        Holders(claims),  # type: ignore[arg-type]
        SECRETS,
        POLICY,
        4,
        throttles,
        OpenedSessions(),  # type: ignore[arg-type]
        background,
    )
    return World(store, actors, counters, background, flows)


async def with_customer(limit: int = 100) -> World:
    made = world(limit)
    command = RegisterCustomer(
        create_command(email=KNOWN, status=CustomerStatus.ACTIVE),
        passwords.hash_password(PASSWORD, 4),
        digest("verify"),
        {},
    )
    reply = await made.actors.call("Customer", CUSTOMER_ID, "register", _json(command))
    assert reply["ok"] is True
    made.actors.calls.clear()
    return made


def _json(command: object) -> dict[str, Any]:
    from actors import codec

    return codec.encode(command)


class BcryptChecks:
    """Every bcrypt check, the decoy's included (the step that takes the time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = passwords.verify_password

        def counted(password: str, hashed: str) -> bool:
            self.count += 1
            return real(password, hashed)

        monkeypatch.setattr(passwords, "verify_password", counted)
        monkeypatch.setattr(sign_in_facts, "verify_password", counted)


Answer = tuple[int, str, str | None, dict[str, str]]
# What one login attempt did: its answer, its bcrypt checks, the actor methods it called.
Path = tuple[Answer, int, list[str]]


async def answer(attempt: Callable[[], Awaitable[object]]) -> Answer:
    """What the caller sees of a refused attempt: status, type, detail, headers."""
    with pytest.raises(Problem) as refused:
        await attempt()
    problem = refused.value
    return problem.status, problem.slug, problem.detail, dict(problem.headers or {})


async def test_every_path_that_judges_a_password_runs_one_bcrypt_and_the_same_hops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await with_customer()
    checks = BcryptChecks(monkeypatch)
    seen: dict[str, list[Path]] = {KNOWN: [], UNKNOWN: []}
    for email in (KNOWN, UNKNOWN):  # interleaved would do too: each email its own counters
        for _ in range(4):  # wrong, wrong, the failure that locks, locked
            await made.background.drain(seconds=5)  # what follows an answer is not its path
            checked, called = checks.count, len(made.actors.calls)
            refused = await answer(partial(made.flows.login, email, "wrong", CLIENT))
            hops = [method for _, method in made.actors.calls[called:]]
            seen[email].append((refused, checks.count - checked, hops))

    assert seen[KNOWN] == seen[UNKNOWN]
    assert [refused[0] for refused, _, _ in seen[KNOWN]] == [401, 401, 423, 423]
    # One bcrypt each: the actor's (a real hash or the decoy's), or the lock's decoy.
    assert [bcrypts for _, bcrypts, _ in seen[KNOWN]] == [1, 1, 1, 1]
    assert [hops for _, _, hops in seen[KNOWN]] == [["login"]] * 3 + [[]]
    # The unknown email's password went to a decoy actor, never to a customer's.
    assert decoy_actor(email_key(UNKNOWN)) in made.actors.handlers


async def test_a_throttled_login_runs_no_bcrypt_and_answers_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await with_customer(limit=1)
    await made.flows.login(KNOWN, PASSWORD, CLIENT)
    checks = BcryptChecks(monkeypatch)
    calls = len(made.actors.calls)

    known = await answer(lambda: made.flows.login(KNOWN, PASSWORD, CLIENT))
    unknown = await answer(lambda: made.flows.login(UNKNOWN, PASSWORD, CLIENT))

    assert known == unknown
    assert known[:2] == (429, "too-many-requests")
    assert int(known[3]["Retry-After"]) > 0
    assert checks.count == 0
    assert len(made.actors.calls) == calls


async def test_a_right_password_clears_the_failures_and_opens_a_session() -> None:
    made = await with_customer()
    for _ in range(2):
        await answer(lambda: made.flows.login(KNOWN, "wrong", CLIENT))

    tokens = await made.flows.login(KNOWN.upper(), PASSWORD, CLIENT)
    assert isinstance(tokens, Tokens)
    assert tokens.customer_id == CUSTOMER_ID
    # Counted from nothing again: two more failures do not lock.
    for _ in range(2):
        assert (await answer(lambda: made.flows.login(KNOWN, "wrong", CLIENT)))[0] == 401


async def test_the_owner_of_a_locked_account_is_told_after_the_answer() -> None:
    made = await with_customer()
    for _ in range(3):
        await answer(lambda: made.flows.login(KNOWN, "wrong", CLIENT))
    for _ in range(3):
        await answer(lambda: made.flows.login(UNKNOWN, "wrong", CLIENT))
    await made.background.drain(seconds=5)

    assert made.events() == [CUSTOMER_REGISTERED, CUSTOMER_LOCKED]
    assert made.store.events[-1].data["locked_until"]


async def test_registration_answers_before_anything_looks_the_email_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await with_customer()
    hashes: list[str] = []
    real = passwords.hash_password

    def counted(password: str, cost: int) -> str:
        hashes.append(password)
        return real(password, cost)

    monkeypatch.setattr("service.sign_in.hash_password", counted)
    taken = create_command(customer_id="0b6f3c1e-2222-4c6e-9a55-000000000002", email=KNOWN.upper())
    fresh = create_command(customer_id="0b6f3c1e-3333-4c6e-9a55-000000000003", email=UNKNOWN)

    for profile in (taken, fresh):
        await made.flows.register(profile, PASSWORD, CLIENT)
        assert made.actors.calls == []  # nothing asked of any actor before the answer
        await made.background.drain(seconds=5)
        made.actors.calls.clear()
    assert len(hashes) == 2  # and a hash on both paths

    # The owner of the taken address is told; the fresh one is registered; no second account.
    assert made.events() == [CUSTOMER_REGISTERED, REGISTRATION_ATTEMPTED, CUSTOMER_REGISTERED]
    assert made.store.document(taken.customer_id) is None
    notice = next(e for e in made.store.events if e.type == REGISTRATION_ATTEMPTED)
    assert notice.subject == CUSTOMER_ID


async def test_password_reset_answers_alike_and_sends_at_most_the_hours_deliveries() -> None:
    made = await with_customer()
    for email in (KNOWN, UNKNOWN) * 4:
        await made.flows.request_password_reset(email, CLIENT)  # answered: 202
        assert made.actors.calls == []  # nothing looked up before the answer
        await made.background.drain(seconds=5)
        made.actors.calls.clear()

    assert made.events().count(PASSWORD_RESET_REQUESTED) == 3
