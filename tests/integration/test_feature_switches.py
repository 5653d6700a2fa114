"""CUSTOMER_ENABLE_2FA and CUSTOMER_ENABLE_SEGMENTS do what they say: the same
data served first with both on, then by a service with both off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pyotp
import pytest

from devstack.stack import App, Infrastructure, start_infrastructure
from readmodel.migrate import apply_migrations
from tests.support.accounts import PASSWORD, Account, login, sign_up
from tests.support.credentials import admin_token
from tests.support.polling import eventually
from tests.support.stacks import start_customer_service
from tests.support.values import customer_body

CUSTOMERS = "/api/v1/customers"
SEGMENTS = "/api/v1/segments"
SWITCHED_OFF = {"CUSTOMER_ENABLE_2FA": "false", "CUSTOMER_ENABLE_SEGMENTS": "false"}


@pytest.fixture(scope="module")
def own_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Infrastructure]]:
    root = Path(tmp_path_factory.mktemp("switches"))
    infra = start_infrastructure(root)
    try:
        apply_migrations(infra.postgres_dsn)
        yield root, infra
    finally:
        infra.stop()


@asynccontextmanager
async def serving(
    root: Path, infra: Infrastructure, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The service (and its worker) with ``env``: an admin's client and an anonymous one."""
    app: App = start_customer_service(infra, root, env)
    try:
        admin = {"authorization": f"Bearer {admin_token()}"}
        async with (
            httpx.AsyncClient(base_url=app.app_url, headers=admin, timeout=30) as api,
            httpx.AsyncClient(base_url=app.app_url, timeout=30) as anonymous,
        ):
            yield api, anonymous
    finally:
        app.stop()


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    kind: str = response.json()["type"]
    return kind.rsplit(":", 1)[1]


async def enroll(anonymous: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    url = f"{CUSTOMERS}/{account.id}/2fa"
    started = await anonymous.post(
        f"{url}/enable", json={"password": PASSWORD}, headers=account.headers
    )
    assert started.status_code == 201, started.text
    enrollment: dict[str, Any] = started.json()
    code = pyotp.TOTP(enrollment["secret"]).now()
    verified = await anonymous.post(f"{url}/verify", json={"code": code}, headers=account.headers)
    assert verified.status_code == 200, verified.text
    return enrollment


async def test_switched_off_two_factor_and_segments(
    own_infra: tuple[Path, Infrastructure],
) -> None:
    root, infra = own_infra
    db = await asyncpg.connect(infra.postgres_dsn)
    try:
        async with serving(root, infra) as (api, anonymous):
            enrolled = await sign_up(anonymous, db)
            enrollment = await enroll(anonymous, enrolled)
            rule = {"field": "customer_group_id", "operator": "eq", "value": "vip"}
            made = await api.post(SEGMENTS, json={"name": "vip", "rules": [rule]})
            assert made.status_code == 201, made.text
            segment_id = made.json()["segment"]["id"]

        async with serving(root, infra, SWITCHED_OFF) as (api, anonymous):
            # Who has 2FA keeps it: the login asks for the second factor ...
            first = await login(anonymous, enrolled.email)
            assert first.status_code == 200, first.text
            assert first.json()["second_factor_required"] is True
            recovery = enrollment["recovery_codes"]
            second = await anonymous.post(
                f"{CUSTOMERS}/login/2fa",
                json={"challenge": first.json()["challenge"], "recovery_code": recovery[0]},
            )
            assert second.status_code == 200, second.text
            # ... and may switch it off.
            own = {"authorization": f"Bearer {second.json()['access_token']}"}
            off = await anonymous.post(
                f"{CUSTOMERS}/{enrolled.id}/2fa/disable",
                json={"password": PASSWORD, "recovery_code": recovery[1]},
                headers=own,
            )
            assert off.status_code == 200, off.text

            # Nobody enrolls anew; nothing is stored for the attempt.
            newcomer = await sign_up(anonymous, db)
            url = f"{CUSTOMERS}/{newcomer.id}/2fa"
            started = await anonymous.post(
                f"{url}/enable", json={"password": PASSWORD}, headers=newcomer.headers
            )
            assert started.status_code == 403
            assert problem_type(started) == "two-factor-disabled"
            verified = await anonymous.post(
                f"{url}/verify", json={"code": "123456"}, headers=newcomer.headers
            )
            assert problem_type(verified) == "two-factor-disabled"
            shown = await anonymous.get(f"{CUSTOMERS}/{newcomer.id}", headers=newcomer.headers)
            assert shown.json()["customer"]["version"] == newcomer.customer["version"]

            # Segments: no route answers, and the worker evaluates none.
            vip = (await api.post(CUSTOMERS, json=customer_body(customer_group_id="vip"))).json()
            vip_id = vip["customer"]["id"]
            for response in (
                await api.get(SEGMENTS),
                await api.post(SEGMENTS, json={"name": "again", "rules": []}),
                await api.get(f"{SEGMENTS}/{segment_id}"),
                await api.get(f"{SEGMENTS}/{segment_id}/customers"),
                await api.get(f"{CUSTOMERS}/{vip_id}/segments"),
                await api.get(CUSTOMERS, params={"segment": segment_id}),
            ):
                assert response.status_code == 404, response.text
                assert problem_type(response) == "segments-disabled"
            assert await db.fetchval("SELECT count(*) FROM segments") == 1
            # Lists still work.
            assert (await api.get(CUSTOMERS, params={"group": "vip"})).status_code == 200

            async def projected() -> bool | None:
                found = await db.fetchval("SELECT true FROM customers WHERE id = $1::uuid", vip_id)
                return True if found else None

            await eventually(projected, what="the vip customer in the read model")
            members = await db.fetchval(
                "SELECT count(*) FROM segment_members WHERE customer_id = $1::uuid", vip_id
            )
            assert members == 0
    finally:
        await db.close()
