"""Only the callers we name, each only what it may do: tried as an attacker would.

Other apps are real daprd processes with their own app ids (tests' "caller
sidecars"); they reach this service through Dapr service invocation, its actor
API and pub/sub, as any app in the namespace could.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from devstack.stack import App, Infrastructure, LoneSidecar
from security import event_signature
from security.access_tokens import Session
from security.macs import MacKeyring
from tests.integration.conftest import CallerSidecars, EventSink, customer_token
from tests.support.credentials import APP_API_TOKEN, ISSUER, JWT_SECRET
from tests.support.documents import create, stored_document
from tests.support.polling import eventually
from tests.support.sockets import descendants, listening

CUSTOMERS = "/api/v1/customers"
INVOKE = "/v1.0/invoke/customer-service/method"


@asynccontextmanager
async def through(sidecar: LoneSidecar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another app's sidecar (with that sidecar's own API token)."""
    async with httpx.AsyncClient(
        base_url=sidecar.url, headers={"dapr-api-token": sidecar.api_token}, timeout=30
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def seeded(api: httpx.AsyncClient) -> dict[str, Any]:
    return await create(api, legacy_id=f"CRM-{uuid.uuid4().hex[:10]}")


# -- 1. calls through a sidecar are judged by who makes them ---------------------------------


async def test_unlisted_apps_and_self_invocation_get_nothing_without_a_token(
    api: httpx.AsyncClient,
    sidecar: httpx.AsyncClient,
    caller_sidecars: CallerSidecars,
    db: asyncpg.Connection,
) -> None:
    customer = await seeded(api)
    cid = customer["id"]
    async with through(caller_sidecars("intruder")) as intruder:
        for client in (intruder, sidecar):  # another app; our own sidecar (unstamped)
            attempts = [
                client.get(f"{INVOKE}{CUSTOMERS}", params={"limit": 1}),
                client.get(f"{INVOKE}{CUSTOMERS}/{cid}"),
                client.patch(f"{INVOKE}{CUSTOMERS}/{cid}", json={"status": "SUSPENDED"}),
                client.delete(f"{INVOKE}{CUSTOMERS}/{cid}"),
                client.get(f"{INVOKE}/api/v1/segments"),
                client.post(
                    f"{INVOKE}{CUSTOMERS}/login", json={"email": customer["email"], "password": "x"}
                ),
            ]
            for response in await asyncio.gather(*attempts):
                assert response.status_code == 403, response.text
                assert customer["email"] not in response.text
    stored = await stored_document(db, cid)
    assert stored is not None
    assert (stored["version"], stored["status"], stored["deleted_at"]) == (1, "ACTIVE", None)


async def test_a_read_caller_may_look_up_and_nothing_more(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars, db: asyncpg.Connection
) -> None:
    customer = await seeded(api)
    cid = customer["id"]
    async with through(caller_sidecars("order-service")) as orders:  # order-service=read
        for path in (
            f"{CUSTOMERS}/{cid}",
            f"{CUSTOMERS}/{cid}/addresses",
            f"{CUSTOMERS}/{cid}/preferences",
            f"{CUSTOMERS}/by-legacy-id/{customer['legacy_id']}",
        ):
            response = await orders.get(INVOKE + path)
            assert response.status_code == 200, (path, response.text)
        assert (await orders.get(f"{INVOKE}{CUSTOMERS}")).status_code == 403
        assert (await orders.get(f"{INVOKE}/api/v1/segments")).status_code == 403
        patched = await orders.patch(f"{INVOKE}{CUSTOMERS}/{cid}", json={"first_name": "Eve"})
        assert patched.status_code == 403
        added = await orders.post(f"{INVOKE}{CUSTOMERS}/{cid}/2fa/enable")
        assert added.status_code == 403
    assert (await stored_document(db, cid) or {})["version"] == 1


async def test_an_admin_caller_may_administer(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    async with through(caller_sidecars("crm")) as crm:  # crm=admin
        assert (await crm.get(f"{INVOKE}{CUSTOMERS}", params={"limit": 1})).status_code == 200
        patched = await crm.patch(f"{INVOKE}{CUSTOMERS}/{cid}", json={"status": "SUSPENDED"})
    assert patched.status_code == 200
    assert patched.json()["customer"]["status"] == "SUSPENDED"


async def test_a_forward_caller_is_judged_by_the_end_users_token(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    other = (await seeded(api))["id"]
    async with through(caller_sidecars("api-gateway")) as gateway:  # api-gateway=forward
        anonymous = await gateway.get(f"{INVOKE}{CUSTOMERS}/{cid}")
        own = await gateway.get(f"{INVOKE}{CUSTOMERS}/{cid}", headers=bearer(customer_token(cid)))
        foreign = await gateway.get(
            f"{INVOKE}{CUSTOMERS}/{other}", headers=bearer(customer_token(cid))
        )
        public = await gateway.post(
            f"{INVOKE}{CUSTOMERS}/password-reset", json={"email": "nobody@example.com"}
        )
    assert anonymous.status_code == 401
    assert own.status_code == 200
    assert foreign.status_code == 403
    assert public.status_code == 202


async def test_an_unlisted_app_carrying_a_valid_token_is_judged_by_it(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    async with through(caller_sidecars("intruder")) as intruder:
        own = await intruder.get(f"{INVOKE}{CUSTOMERS}/{cid}", headers=bearer(customer_token(cid)))
        forged = await intruder.get(
            f"{INVOKE}{CUSTOMERS}/{cid}",
            headers=bearer(jwt.encode({"sub": cid, "roles": ["admin"]}, "guess" * 8)),
        )
    assert own.status_code == 200
    assert forged.status_code == 403


async def test_a_caller_that_adds_its_own_caller_id_is_refused(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    async with through(caller_sidecars("intruder")) as intruder:
        # Claiming to be crm (admin): daprd overwrites its own stamp, a second
        # spelling of the header arrives as a second value, or is overwritten.
        response = await intruder.get(
            f"{INVOKE}{CUSTOMERS}",
            headers={"Dapr-Caller-App-Id": "crm", "dapr-callee-app-id": "customer-service"},
        )
    assert response.status_code == 403
    assert cid not in response.text


# -- 2. service invocation never reaches the sidecar-only routes -----------------------------


@pytest.mark.parametrize(
    ("verb", "method"),
    [
        ("PUT", "actors/Customer/{cid}/method/get"),
        ("PUT", "Actors/Customer/{cid}/method/get"),
        ("PUT", "actors//Customer/{cid}/method/get"),
        ("PUT", "actors%2FCustomer%2F{cid}%2Fmethod%2Fget"),
        ("PUT", "api/v1/../../actors/Customer/{cid}/method/get"),
        ("PUT", "actors/Customer/{cid}/method/remind/erase"),
        ("DELETE", "actors/Customer/{cid}"),
        ("GET", "dapr/config"),
        ("POST", "events/customer-events"),
    ],
)
async def test_sidecar_only_routes_are_closed_to_service_invocation(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars, verb: str, method: str
) -> None:
    customer = await seeded(api)
    async with through(caller_sidecars("crm")) as crm:  # even an admin caller
        response = await crm.request(
            verb, f"{INVOKE}/{method.format(cid=customer['id'])}", content=b"{}"
        )
    assert response.status_code >= 400, response.text
    assert customer["email"] not in response.text


async def test_forged_order_events_cannot_be_delivered_by_invocation(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    order = {
        "data": {
            "order_id": f"forged-{uuid.uuid4()}",
            "customer_id": cid,
            "total": "999.00",
            "placed_at": datetime.now(UTC).isoformat(),
        }
    }
    async with through(caller_sidecars("crm")) as crm:
        response = await crm.post(f"{INVOKE}/events/order-events", json=order)
    assert response.status_code == 403
    await asyncio.sleep(1)
    assert (await api.get(f"{CUSTOMERS}/{cid}")).json()["customer"]["version"] == 1


# -- 3. the actors obey only this service -----------------------------------------------------


async def test_unsigned_actor_calls_change_nothing_and_show_nothing(
    api: httpx.AsyncClient,
    sidecar: httpx.AsyncClient,
    caller_sidecars: CallerSidecars,
    db: asyncpg.Connection,
) -> None:
    customer = await seeded(api)
    cid = customer["id"]
    actor = f"/v1.0/actors/Customer/{cid}/method"
    async with through(caller_sidecars("intruder", actors=True)) as intruder:
        for client in (sidecar, intruder):  # our sidecar's actor API, another app's
            read = await client.post(f"{actor}/get", json={"include_deleted": True})
            update = await client.post(
                f"{actor}/update", json={"changes": {"status": "SUSPENDED"}, "if_match": None}
            )
            remind = await client.post(f"{actor}/remind/erase", json={})
            timer = await client.post(f"{actor}/timer/sweep", json={})
            for response in (read, update, remind, timer):
                assert response.status_code >= 400, response.text
                assert customer["email"] not in response.text
    stored = await stored_document(db, cid)
    assert stored is not None
    assert (stored["version"], stored["status"]) == (1, "ACTIVE")
    # The key claims' actor is guarded the same way.
    release = await sidecar.post(
        "/v1.0/actors/UniqueKey/anything/method/release", json={"customer_id": cid}
    )
    assert release.status_code >= 400


# -- 4. every sidecar locked, every socket on loopback ----------------------------------------


def test_no_socket_of_the_test_stack_is_bound_off_loopback(
    customer_service: App, event_sink: EventSink, caller_sidecars: CallerSidecars
) -> None:
    caller_sidecars("intruder")
    sockets = listening(descendants(os.getpid()))
    assert len(sockets) >= 15  # postgres, redis, placement, four daprd, two apps
    exposed = [
        (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120].decode(),
            address,
            port,
        )
        for pid, address, port in sockets
        if address not in ("127.0.0.1", "::1")
    ]
    assert exposed == []


async def test_the_sidecars_api_needs_its_token(
    customer_service: App, api: httpx.AsyncClient
) -> None:
    cid = (await seeded(api))["id"]
    async with httpx.AsyncClient(base_url=customer_service.sidecar_url) as anonymous:
        state = await anonymous.get(f"/v1.0/state/customer-store/customer:{cid}")
        publish = await anonymous.post(
            "/v1.0/publish/customer-pubsub/customer-events", json={"x": 1}
        )
    assert state.status_code == 401
    assert publish.status_code == 401


async def test_redis_needs_its_password(infra: Infrastructure) -> None:
    host, port = infra.redis_address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n")
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    assert answer.startswith(b"-NOAUTH"), answer


# -- 5. only this service's own events move the read model ------------------------------------


async def test_events_only_from_apps_that_may_publish_them(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    cid = (await seeded(api))["id"]
    order = {
        "order_id": "o-x",
        "customer_id": cid,
        "total": "5.00",
        "placed_at": "2026-01-01T00:00:00Z",
    }
    # An app outside the component's scopes does not even load it (404); a
    # subscriber that loads it may not publish on its protected topics (403).
    for app_id, refused in (("intruder", 404), ("notification-service", 403)):
        async with through(caller_sidecars(app_id)) as other:
            forged_order = await other.post(
                "/v1.0/publish/customer-pubsub/order-events", json=order
            )
            forged_update = await other.post(
                "/v1.0/publish/customer-pubsub/customer-events", json={"customer_id": cid}
            )
        assert forged_order.status_code == refused, forged_order.text
        assert forged_update.status_code == refused, forged_update.text
    await asyncio.sleep(2)
    customer = (await api.get(f"{CUSTOMERS}/{cid}")).json()["customer"]
    assert customer["version"] == 1  # no order was recorded


async def test_a_forged_event_never_freezes_or_changes_a_read_model_row(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, event_sink: EventSink
) -> None:
    customer = await seeded(api)
    cid = customer["id"]

    async def listed(version: int) -> dict[str, Any] | None:
        rows = (await api.get(CUSTOMERS, params={"email": customer["email"]})).json()["customers"]
        return rows[0] if rows and rows[0]["version"] == version else None

    await eventually(lambda: listed(1), what="the projection of version 1")
    snapshot = {**customer, "first_name": "Forged", "version": 10**9}
    data = {
        "customer_id": cid,
        "version": 10**9,
        "occurred_at": datetime.now(UTC).isoformat(),
        "changes": ["first_name"],
        "snapshot": snapshot,
    }
    wrong_key = MacKeyring({"e1": os.urandom(32)})
    forgeries = [data, event_signature.signed(wrong_key, "customer.updated", data)]
    for forged in forgeries:
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "customer-service",
            "type": "customer.updated",
            "subject": cid,
            "datacontenttype": "application/json",
            "data": forged,
        }
        published = await sidecar.post(
            "/v1.0/publish/customer-pubsub/customer-events",
            json=envelope,
            headers={"content-type": "application/cloudevents+json"},
        )
        assert published.status_code == 204

    async def both_parked() -> list[dict[str, Any]] | None:
        letters = [d for d in await event_sink.dead_letters() if cid in d["data"]["event"]]
        return letters if len(letters) == 2 else None

    letters = await eventually(both_parked, what="both forgeries in the dead-letter topic")
    assert all("signature" in letter["data"]["reason"] for letter in letters)
    updated = await api.patch(f"{CUSTOMERS}/{cid}", json={"first_name": "Real"})
    assert updated.status_code == 200
    row = await eventually(lambda: listed(2), what="the real change in the read model")
    assert row["first_name"] == "Real"


# -- 6. access tokens: known roles, bounded lives ---------------------------------------------


async def test_tokens_with_unknown_roles_or_long_lives_are_refused(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    cid = (await seeded(api))["id"]
    now = datetime.now(UTC)

    def token(roles: object, hours: float = 0.25) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER.issuer,
            "aud": ISSUER.audience,
            "sub": cid,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=hours)).timestamp()),
            # A customer's token names its session (any other may too).
            "sid": str(uuid.uuid4()),
            "sep": 0,
        }
        if roles is not None:
            claims["roles"] = roles
        return jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    for refused in (
        token(["service"]),
        token(None),
        token([]),
        token(["root"]),
        token(["customer"], 25),
    ):
        response = await anonymous.get(f"{CUSTOMERS}/{cid}", headers=bearer(refused))
        assert response.status_code == 401, response.text
        listed = await anonymous.get(CUSTOMERS, headers=bearer(refused))
        assert listed.status_code == 401
    assert (
        await anonymous.get(f"{CUSTOMERS}/{cid}", headers=bearer(token(["customer"])))
    ).status_code == 200
    # A customer token is never an admin's, whatever its subject.
    ops = ISSUER.issue(cid, ["customer"], now, Session(str(uuid.uuid4()), 0))
    assert (await anonymous.get(CUSTOMERS, headers=bearer(ops))).status_code == 403


async def test_the_app_token_alone_makes_no_admin(customer_service: App) -> None:
    """The old door: a request with the app API token and no Bearer was a service admin."""
    async with httpx.AsyncClient(base_url=customer_service.app_url) as client:
        response = await client.get(CUSTOMERS, headers={"dapr-api-token": APP_API_TOKEN})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
