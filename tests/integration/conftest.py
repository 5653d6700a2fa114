"""The real stack for integration tests: Postgres, Redis, placement, daprd, the app.

Started once per session on free ports in a temp folder, stopped at the end.
TEST_POSTGRES_DSN / TEST_REDIS_ADDRESS / TEST_PLACEMENT_ADDRESS use servers
that already run instead (see devstack.stack.start_infrastructure).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import (
    App,
    Infrastructure,
    LoneSidecar,
    start_app,
    start_infrastructure,
    start_sidecar,
)
from readmodel.migrate import apply_migrations
from tests.support.accounts import Account, sign_up
from tests.support.credentials import (
    APP_API_TOKEN,
    DAPR_API_TOKEN,
    DATABASE_PASSWORD,
    JWT_SECRET,
    NOTIFICATION_KEYS,
    admin_token,
    customer_token,
)
from tests.support.stacks import start_customer_service
from tests.support.values import SEED_CUSTOMER, customer_body, unique_email

__all__ = [
    "APP_API_TOKEN",
    "DAPR_API_TOKEN",
    "DATABASE_PASSWORD",
    "JWT_SECRET",
    "NOTIFICATION_KEYS",
    "SEED_CUSTOMER",
    "EventSink",
    "admin_token",
    "customer_body",
    "customer_token",
    "unique_email",
]


GROUP_DELETE_SETTLE_SECONDS = 3


@pytest.fixture(scope="session")
def stack_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def infra(stack_root: Path) -> Iterator[Infrastructure]:
    infrastructure = start_infrastructure(stack_root)
    yield infrastructure
    infrastructure.stop()


@pytest.fixture(scope="session")
def customer_service(infra: Infrastructure, stack_root: Path) -> Iterator[App]:
    apply_migrations(infra.postgres_dsn)
    # A password Postgres never checks (it trusts loopback): it must not leak into logs.
    dsn = infra.postgres_dsn.replace("postgres@", f"postgres:{DATABASE_PASSWORD}@", 1)
    app = start_customer_service(
        infra,
        stack_root,
        env={
            "CUSTOMER_DATABASE_DSN": dsn,
            # A retired group may be deleted this long after (60 s by default).
            "CUSTOMER_GROUP_DELETE_SETTLE_SECONDS": str(GROUP_DELETE_SETTLE_SECONDS),
        },
        tokens={"APP_API_TOKEN": APP_API_TOKEN, "DAPR_API_TOKEN": DAPR_API_TOKEN},
    )
    yield app
    app.stop()


class EventSink:
    """Reads what the subscriber app has received so far."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def events(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.app.app_url) as client:
            response = await client.get("/received")
            response.raise_for_status()
            events: list[dict[str, Any]] = response.json()
            return events

    async def dead_letters(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.app.app_url) as client:
            response = await client.get("/dead-letters")
            response.raise_for_status()
            letters: list[dict[str, Any]] = response.json()
            return letters

    async def for_subject(self, subject: str) -> list[dict[str, Any]]:
        return [event for event in await self.events() if event.get("subject") == subject]

    async def wait_for(self, subjects: set[str], within: float) -> float:
        """Wait until every subject has an event; return the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < within:
            seen = {event.get("subject") for event in await self.events()}
            if subjects <= seen:
                return time.monotonic() - start
            await asyncio.sleep(0.05)
        seen = {event.get("subject") for event in await self.events()}
        raise AssertionError(f"{len(subjects - seen)} of {len(subjects)} events never arrived")

    async def wait_for_version(self, subject: str, version: int, within: float) -> None:
        """Wait until every version of ``subject`` up to ``version`` has its event."""
        start = time.monotonic()
        while True:
            seen = {e["data"]["version"] for e in await self.for_subject(subject)}
            if set(range(1, version + 1)) <= seen:
                return
            if time.monotonic() - start > within:
                missing = sorted(set(range(1, version + 1)) - seen)
                raise AssertionError(f"events of versions {missing} never arrived")
            await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def event_sink(
    infra: Infrastructure, stack_root: Path, customer_service: App
) -> Iterator[EventSink]:
    app = start_app(
        "event-sink",
        [sys.executable, "-m", "tests.support.event_sink"],
        infra,
        stack_root,
        # An operator grants each consumer its topics (subscriptionScopes).
        subscribers={"event-sink": ["customer-events", "customer-events-deadletter"]},
    )
    yield EventSink(app)
    app.stop()


@pytest.fixture
async def api(customer_service: App) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an admin's access token, as the back office would call."""
    headers = {"authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(
        base_url=customer_service.app_url, timeout=30, headers=headers
    ) as client:
        yield client


@pytest.fixture
async def anonymous(customer_service: App) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials, as a shopper's browser before signing in."""
    async with httpx.AsyncClient(base_url=customer_service.app_url, timeout=30) as client:
        yield client


@pytest.fixture
async def sidecar(customer_service: App) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=customer_service.sidecar_url,
        headers={"dapr-api-token": DAPR_API_TOKEN},
        timeout=30,
    ) as client:
        yield client


class CallerSidecars:
    """daprd of other apps, as the platform's services would call us: one per app id."""

    def __init__(self, infra: Infrastructure, root: Path) -> None:
        self._infra = infra
        self._root = root
        self._started: dict[str, LoneSidecar] = {}

    def __call__(self, app_id: str, actors: bool = False) -> LoneSidecar:
        """``actors``: it joins placement, so it can call actors (it hosts none)."""
        key = f"{app_id}+actors" if actors else app_id
        if key not in self._started:
            self._started[key] = start_sidecar(app_id, self._infra, self._root, actors)
        return self._started[key]

    def stop(self) -> None:
        for sidecar in self._started.values():
            sidecar.stop()


@pytest.fixture(scope="session")
def caller_sidecars(
    infra: Infrastructure, stack_root: Path, customer_service: App
) -> Iterator[CallerSidecars]:
    sidecars = CallerSidecars(infra, stack_root)
    yield sidecars
    sidecars.stop()


@pytest.fixture
async def order_service(caller_sidecars: CallerSidecars) -> AsyncIterator[httpx.AsyncClient]:
    """The order service's sidecar: the only one that may publish order events."""
    sidecar = caller_sidecars("order-service")
    async with httpx.AsyncClient(
        base_url=sidecar.url, headers={"dapr-api-token": sidecar.api_token}, timeout=30
    ) as client:
        yield client


@pytest.fixture
async def db(infra: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.postgres_dsn)
    yield connection
    await connection.close()


@pytest.fixture
async def account(anonymous: httpx.AsyncClient, db: asyncpg.Connection) -> Account:
    """A customer who signed up and is signed in (its own tokens in ``tokens``)."""
    return await sign_up(anonymous, db)
