"""The real stack for integration tests: Postgres, Redis, placement, daprd, the app.

Started once per session on free ports in a temp folder, stopped at the end.
TEST_POSTGRES_DSN / TEST_REDIS_ADDRESS / TEST_PLACEMENT_ADDRESS use servers
that already run instead (see devstack.stack.start_infrastructure).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import (
    CUSTOMER_PORT_VARIABLES,
    App,
    Infrastructure,
    customer_service_command,
    customer_service_env,
    start_app,
    start_infrastructure,
)
from readmodel.migrate import apply_migrations
from security.access_tokens import TokenIssuer
from security.keyring import Keyring
from service.schemas import CREATE_EXAMPLE

# Secrets the running service is given; test_observability checks that no log
# line carries them. Postgres trusts loopback, so the password is never checked.
JWT_SECRET = "jwt-" + secrets.token_hex(24)
DATABASE_PASSWORD = "pg-" + secrets.token_hex(12)
# As in production: the sidecar's API and the app's actor routes both need a token.
APP_API_TOKEN = "app-" + secrets.token_hex(16)
DAPR_API_TOKEN = "dapr-" + secrets.token_hex(16)
TOTP_KEY = secrets.token_bytes(32)
NOTIFICATION_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
NOTIFICATION_KEYS = Keyring.parse(f"n1:{NOTIFICATION_KEY}")
ISSUER = TokenIssuer(
    secret=JWT_SECRET, issuer="customer-service", audience="shop", lifetime=timedelta(minutes=15)
)


def admin_token() -> str:
    return ISSUER.issue("ops@example.com", ["admin"], datetime.now(UTC))


def customer_token(customer_id: str) -> str:
    return ISSUER.issue(customer_id, ["customer"], datetime.now(UTC))


SEED_CUSTOMER = CREATE_EXAMPLE


def unique_email(label: str = "customer") -> str:
    """One live customer per email: each test customer gets its own."""
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


def customer_body(**overrides: Any) -> dict[str, Any]:
    """The seed's create request with an email nobody else has."""
    return {**SEED_CUSTOMER, "email": unique_email(), **overrides}


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
    dsn = infra.postgres_dsn.replace("postgres@", f"postgres:{DATABASE_PASSWORD}@", 1)
    env = {
        **customer_service_env(infra),
        "CUSTOMER_JWT_SECRET": JWT_SECRET,
        "CUSTOMER_TOTP_KEYS": "t1:" + base64.b64encode(TOTP_KEY).decode(),
        "CUSTOMER_NOTIFICATION_KEYS": f"n1:{NOTIFICATION_KEY}",
        # Fast hashes for the suite (development only; production needs >= 10).
        "CUSTOMER_BCRYPT_COST": "4",
        "CUSTOMER_DATABASE_DSN": dsn,
    }
    app = start_app(
        "customer-service",
        customer_service_command(),
        infra,
        stack_root,
        env=env,
        port_variables=CUSTOMER_PORT_VARIABLES,
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
        "event-sink", [sys.executable, "-m", "tests.support.event_sink"], infra, stack_root
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


@pytest.fixture
async def db(infra: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.postgres_dsn)
    yield connection
    await connection.close()
