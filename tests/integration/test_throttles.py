"""Throttles and revocation across replicas, on a stack of their own.

Two replicas of the service (each with its sidecar and worker) share one
Postgres, Redis and placement, with low rate limits and a real bcrypt cost.
A gateway's sidecar (``api-gateway``, a ``forward`` caller) passes each test's
own client address; direct requests all come from 127.0.0.1 and no header of
theirs is believed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import App, Infrastructure, LoneSidecar, start_infrastructure, start_sidecar
from readmodel.migrate import apply_migrations
from tests.support.accounts import CUSTOMERS, PASSWORD, bearer, stored_holder
from tests.support.credentials import admin_token
from tests.support.documents import stored_document
from tests.support.polling import eventually
from tests.support.stacks import start_customer_service
from tests.support.values import unique_email

LIMITS = "login=4/3,register=3/2,password_reset=8/6,second_factor=3/2"
ENV = {
    "CUSTOMER_RATE_LIMITS": LIMITS,
    # A real cost: a throttled answer must come before any bcrypt.
    "CUSTOMER_BCRYPT_COST": "10",
}
INVOKE = "/v1.0/invoke/customer-service/method"


@dataclasses.dataclass
class Stack:
    infra: Infrastructure
    first: App
    second: App
    gateway: LoneSidecar


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = Path(tmp_path_factory.mktemp("throttles"))
    infra = start_infrastructure(root)
    started: list[App | LoneSidecar] = []
    try:
        apply_migrations(infra.postgres_dsn)
        first = start_customer_service(infra, root, ENV)
        started.append(first)
        # The second replica keeps its files apart; placement shares the actors out.
        second = start_customer_service(infra, root / "second", ENV)
        started.append(second)
        gateway = start_sidecar("api-gateway", infra, root)
        started.append(gateway)
        yield Stack(infra, first, second, gateway)
    finally:
        for process in reversed(started):
            process.stop()
        infra.stop()


@pytest.fixture
async def direct(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.first.app_url, timeout=30) as client:
        yield client


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(base_url=stack.first.app_url, timeout=30, headers=headers) as c:
        yield c


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(stack.infra.postgres_dsn)
    yield connection
    await connection.close()


class Gateway:
    """Calls through the gateway's sidecar, as the end user at ``address``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(
        self, path: str, body: dict[str, Any], address: str, **headers: str
    ) -> httpx.Response:
        forwarded = {"x-forwarded-for": address, **headers}
        return await self._client.post(f"{INVOKE}{CUSTOMERS}{path}", json=body, headers=forwarded)


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[Gateway]:
    headers = {"dapr-api-token": stack.gateway.api_token}
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=30) as c:
        yield Gateway(c)


def address() -> str:
    """A client address of the test's own (in 198.18.0.0/15: a benchmarking range)."""
    n = uuid.uuid4().int
    return f"198.{18 + n % 2}.{n // 2 % 256}.{n // 512 % 254 + 1}"


async def signed_up(
    gateway: Gateway, db: asyncpg.Connection, email: str | None = None
) -> dict[str, Any]:
    email = email or unique_email("throttled")
    body = {"email": email, "password": PASSWORD}
    assert (await gateway.post("/register", body, address())).status_code == 202

    async def holder() -> str | None:
        return await stored_holder(db, email)

    customer_id = await eventually(holder)
    signed_in = await gateway.post("/login", body, address())
    assert signed_in.status_code == 200, signed_in.text
    return {"id": customer_id, "email": email, **signed_in.json()}


# -- rate limits ----------------------------------------------------------------------------


async def test_logins_are_limited_per_account_and_per_client_address(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    known = (await signed_up(gateway, db))["email"]  # one login counted at it already
    unknown = unique_email("nobody")
    for email in (known, unknown):
        begun = 1 if email == known else 0
        statuses = [
            (
                await gateway.post("/login", {"email": email, "password": "wrong"}, address())
            ).status_code
            for _ in range(4 - begun)
        ]
        assert statuses == [401] * (3 - begun) + [429], email
    # Per address: four attempts a minute, whatever the emails.
    here = address()
    statuses = [
        (await gateway.post("/login", {"email": unique_email(), "password": "x"}, here)).status_code
        for _ in range(5)
    ]
    assert statuses == [401] * 4 + [429]


async def test_a_throttled_answer_is_the_same_for_any_email_and_comes_before_bcrypt(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    known = (await signed_up(gateway, db))["email"]
    here = address()
    checked: list[float] = []
    for email in (known, unique_email("a"), unique_email("b"), unique_email("c")):
        started = time.perf_counter()
        response = await gateway.post("/login", {"email": email, "password": "wrong"}, here)
        checked.append(time.perf_counter() - started)
        assert response.status_code == 401
    throttled: list[httpx.Response] = []
    quick: list[float] = []
    for email in (known, unique_email("d"), known, unique_email("e")):
        started = time.perf_counter()
        throttled.append(await gateway.post("/login", {"email": email, "password": "x"}, here))
        quick.append(time.perf_counter() - started)
    assert {r.status_code for r in throttled} == {429}
    assert len({(r.text, r.headers["content-type"]) for r in throttled}) == 1
    assert all(0 < int(r.headers["retry-after"]) <= 60 for r in throttled)
    print(f"401 (bcrypt, cost 10): {statistics.median(checked) * 1000:.1f} ms; "
          f"429: {statistics.median(quick) * 1000:.1f} ms")  # fmt: skip
    assert statistics.median(quick) * 2 < statistics.median(checked)


async def test_registration_reset_and_second_factor_are_limited(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    email = unique_email("limited")
    body = {"email": email, "password": PASSWORD}
    registrations = [
        (await gateway.post("/register", body, address())).status_code for _ in range(3)
    ]
    assert registrations == [202, 202, 429]  # two a minute per email
    resets = [
        (await gateway.post("/password-reset", {"email": email}, address())).status_code
        for _ in range(7)
    ]
    assert resets == [202] * 6 + [429]
    challenge = {"challenge": f"{uuid.uuid4()}.{'c' * 43}", "code": "123456"}
    steps = [(await gateway.post("/login/2fa", challenge, address())).status_code for _ in range(3)]
    assert steps == [401, 401, 429]


async def test_a_forwarded_address_is_believed_only_from_a_forward_caller(
    direct: httpx.AsyncClient,
) -> None:
    """Direct requests come from 127.0.0.1: whatever X-Forwarded-For they carry,
    they count as one address (three registrations a minute)."""
    answers = [
        await direct.post(
            f"{CUSTOMERS}/register",
            json={"email": unique_email("direct"), "password": PASSWORD},
            headers={"x-forwarded-for": address()},
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]


async def test_deliveries_per_email_are_capped_and_the_answer_stays_202(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    account = await signed_up(gateway, db)
    before = await stored_document(db, account["id"])
    assert before is not None
    answers = [
        (await gateway.post("/password-reset", {"email": account["email"]}, address())).status_code
        for _ in range(5)
    ]
    assert answers == [202] * 5
    await asyncio.sleep(2)  # the tokens go out after the answers

    after = await stored_document(db, account["id"])
    assert after is not None
    # Each token sent is one committed change (its event carries the token): three.
    assert after["version"] == before["version"] + 3


# -- revocation across replicas -------------------------------------------------------------


async def refused_at_once(client: httpx.AsyncClient, path: str, access: str) -> float:
    """The very next request is refused: how long that request took."""
    started = time.perf_counter()
    response = await client.get(path, headers=bearer(access))
    assert response.status_code in (401, 403), response.text
    return time.perf_counter() - started


async def first_refusal(client: httpx.AsyncClient, path: str, access: str, within: float) -> float:
    """Seconds until ``client`` refuses ``access`` (401 or 403)."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        response = await client.get(path, headers=bearer(access))
        if response.status_code in (401, 403):
            return time.perf_counter() - started
        assert response.status_code == 200, response.text
    raise AssertionError(f"still accepted after {within} s")


async def test_an_ended_session_is_refused_at_once_here_and_within_a_second_elsewhere(
    stack: Stack, gateway: Gateway, admin: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    async with (
        httpx.AsyncClient(base_url=stack.first.app_url, timeout=30) as here,
        httpx.AsyncClient(base_url=stack.second.app_url, timeout=30) as elsewhere,
    ):
        logouts: list[tuple[float, float]] = []
        for _ in range(5):
            account = await signed_up(gateway, db)
            path = f"{CUSTOMERS}/{account['id']}"
            other = (
                await gateway.post(
                    "/login", {"email": account["email"], "password": PASSWORD}, address()
                )
            ).json()
            assert (
                await elsewhere.get(path, headers=bearer(account["access_token"]))
            ).status_code == 200
            assert (
                await here.post(f"{CUSTOMERS}/logout", headers=bearer(account["access_token"]))
            ).status_code == 204
            same = await refused_at_once(here, path, account["access_token"])
            assert (
                await here.post(f"{CUSTOMERS}/logout", headers=bearer(other["access_token"]))
            ).status_code == 204
            far = await first_refusal(elsewhere, path, other["access_token"], within=5)
            logouts.append((same, far))
        suspended = await signed_up(gateway, db)
        path = f"{CUSTOMERS}/{suspended['id']}"
        assert (
            await elsewhere.get(path, headers=bearer(suspended["access_token"]))
        ).status_code == 200
        assert (await admin.patch(path, json={"status": "SUSPENDED"})).status_code == 200
        suspension = await refused_at_once(elsewhere, path, suspended["access_token"])

    print(
        "revocation: the next request after a logout on the same replica took "
        + ", ".join(f"{same * 1000:.1f}" for same, _ in logouts)
        + " ms (refused); on the other replica the first refusal came after "
        + ", ".join(f"{far * 1000:.1f}" for _, far in logouts)
        + f" ms; after a suspension, the other replica's next request: {suspension * 1000:.1f} ms"
    )
    assert max(far for _, far in logouts) <= 1.0
