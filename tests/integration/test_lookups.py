"""Look-ups for calling services: many customers by id, customers by phone, a
customer's segments, and the order statistics of one customer's reply."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import phonenumbers

from devstack.stack import LoneSidecar
from tests.integration.conftest import CallerSidecars, customer_body, customer_token
from tests.support.documents import stored_document
from tests.support.polling import eventually

CUSTOMERS = "/api/v1/customers"
INVOKE = "/v1.0/invoke/customer-service/method"


def fresh_phone() -> str:
    """A valid London number nobody else in the run holds (E.164)."""
    while True:
        candidate = "+44207" + "".join(secrets.choice("0123456789") for _ in range(7))
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post(CUSTOMERS, json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


def problem_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["code"] for e in response.json()["errors"]}


@asynccontextmanager
async def through(sidecar: LoneSidecar) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sidecar.url, headers={"dapr-api-token": sidecar.api_token}, timeout=30
    ) as client:
        yield client


async def test_many_customers_by_id_in_the_order_asked_unknown_and_deleted_left_out(
    api: httpx.AsyncClient,
) -> None:
    first, second, gone = [await create(api) for _ in range(3)]
    assert (await api.delete(f"{CUSTOMERS}/{gone['id']}")).status_code == 204
    unknown = str(uuid.uuid4())
    asked = [second["id"], unknown, first["id"], gone["id"], second["id"].upper()]

    # Straight after the writes: answered from the committed documents, no lag.
    found = await api.get(CUSTOMERS, params={"ids": ",".join(asked)})

    assert found.status_code == 200, found.text
    shown = found.json()["customers"]
    assert [c["id"] for c in shown] == [second["id"], first["id"]]
    assert shown[0] == (await api.get(f"{CUSTOMERS}/{second['id']}")).json()["customer"]
    with_deleted = await api.get(
        CUSTOMERS, params={"ids": f"{gone['id']},{first['id']}", "include_deleted": "true"}
    )
    assert [c["id"] for c in with_deleted.json()["customers"]] == [gone["id"], first["id"]]
    assert with_deleted.json()["customers"][0]["deleted_at"] is not None
    nobody = await api.get(CUSTOMERS, params={"ids": unknown})
    assert nobody.json() == {"customers": []}


async def test_bad_id_look_ups_list_every_error(api: httpx.AsyncClient) -> None:
    good = str(uuid.uuid4())
    bad = await api.get(CUSTOMERS, params={"ids": f"{good},nope,,{good}x"})
    assert problem_errors(bad) == {"ids[1]": "uuid", "ids[2]": "uuid", "ids[3]": "uuid"}
    assert all(e["in"] == "query" for e in bad.json()["errors"])

    too_many = await api.get(CUSTOMERS, params={"ids": ",".join([good] * 101)})
    assert problem_errors(too_many) == {"ids": "too_many"}
    hundred = await api.get(
        CUSTOMERS, params={"ids": ",".join(str(uuid.uuid4()) for _ in range(100))}
    )
    assert hundred.status_code == 200, hundred.text

    # Sent twice, a parameter is refused, not silently the last one.
    twice = await api.get(CUSTOMERS, params=[("ids", good), ("ids", str(uuid.uuid4()))])
    assert problem_errors(twice) == {"ids": "repeated"}
    phones = await api.get(CUSTOMERS, params=[("phone", "+14155550123"), ("phone", "+14155550124")])
    assert problem_errors(phones) == {"phone": "repeated"}

    mixed = await api.get(
        CUSTOMERS, params={"ids": good, "phone": "+14155550123", "status": "ACTIVE", "limit": 5}
    )
    assert problem_errors(mixed) == {
        "status": "not_combinable",
        "limit": "not_combinable",
        "phone": "not_combinable",
    }


async def test_customers_by_phone_follow_the_committed_phone(api: httpx.AsyncClient) -> None:
    phone = fresh_phone()
    older = await create(api, phone=phone)
    newer = await create(api, phone=phone)
    deleted = await create(api, phone=phone)
    assert (await api.delete(f"{CUSTOMERS}/{deleted['id']}")).status_code == 204

    async def both() -> list[str] | None:
        found = await api.get(CUSTOMERS, params={"phone": phone})
        assert found.status_code == 200, found.text
        ids = [c["id"] for c in found.json()["customers"]]
        return ids if len(ids) == 2 else None

    assert await eventually(both, what="both customers found by phone") == [
        older["id"],
        newer["id"],
    ]
    moved = await api.patch(f"{CUSTOMERS}/{newer['id']}", json={"phone": fresh_phone()})
    assert moved.status_code == 200
    # At once, before the read model has seen the change: the document decides.
    found = await api.get(CUSTOMERS, params={"phone": phone})
    assert [c["id"] for c in found.json()["customers"]] == [older["id"]]
    assert found.json()["customers"][0]["phone"] == phone
    everyone = await api.get(CUSTOMERS, params={"phone": phone, "include_deleted": "true"})
    assert deleted["id"] in [c["id"] for c in everyone.json()["customers"]]


async def test_malformed_phones_are_422(api: httpx.AsyncClient) -> None:
    for phone, code in (
        ("14155550123", "e164"),
        (" 14155550123", "e164"),  # a "+" the query string turned into a space
        ("+1 415 555 0123", "e164"),
        ("+1234567890", "phone"),
        ("+", "e164"),
    ):
        response = await api.get(CUSTOMERS, params={"phone": phone})
        assert problem_errors(response) == {"phone": code}, phone


async def test_a_read_caller_may_look_up_by_ids_or_phone_only(
    api: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    phone = fresh_phone()
    customer = await create(api, phone=phone)
    async with through(caller_sidecars("order-service")) as orders:  # order-service=read
        by_ids = await orders.get(f"{INVOKE}{CUSTOMERS}", params={"ids": customer["id"]})
        assert by_ids.status_code == 200, by_ids.text
        assert [c["id"] for c in by_ids.json()["customers"]] == [customer["id"]]

        async def by_phone() -> list[str] | None:
            found = await orders.get(f"{INVOKE}{CUSTOMERS}", params={"phone": phone})
            assert found.status_code == 200, found.text
            return [c["id"] for c in found.json()["customers"]] or None

        assert await eventually(by_phone) == [customer["id"]]
        for params in ({}, {"status": "ACTIVE"}, {"email": customer["email"]}, {"limit": 1}):
            listed = await orders.get(f"{INVOKE}{CUSTOMERS}", params=params)
            assert listed.status_code == 403, (params, listed.text)
        segments = await orders.get(f"{INVOKE}{CUSTOMERS}/{customer['id']}/segments")
        assert segments.status_code == 200, segments.text
        # Deleted customers are for admins only.
        for params in ({"ids": customer["id"]}, {"phone": phone}):
            deleted_too = await orders.get(
                f"{INVOKE}{CUSTOMERS}", params={**params, "include_deleted": "true"}
            )
            assert deleted_too.status_code == 403, (params, deleted_too.text)
            assert customer["email"] not in deleted_too.text


async def test_a_customer_token_may_not_look_up_others(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    me, other = await create(api), await create(api)
    own = {"authorization": f"Bearer {customer_token(me['id'])}"}
    response = await anonymous.get(CUSTOMERS, params={"ids": other["id"]}, headers=own)
    assert response.status_code == 403
    assert other["email"] not in response.text
    others = await anonymous.get(f"{CUSTOMERS}/{other['id']}/segments", headers=own)
    assert others.status_code == 403


async def test_a_customers_segments_follow_the_read_model(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    group_rule = {"field": "customer_group_id", "operator": "eq", "value": "vip", "weight": 3}
    made = await api.post(
        "/api/v1/segments", json={"name": "vip-" + secrets.token_hex(3), "rules": [group_rule]}
    )
    assert made.status_code == 201, made.text
    segment = made.json()["segment"]
    try:
        vip = await create(api, customer_group_id="vip")
        retail = await create(api, customer_group_id="retail")

        async def joined() -> list[dict[str, Any]] | None:
            found = await api.get(f"{CUSTOMERS}/{vip['id']}/segments")
            assert found.status_code == 200, found.text
            mine = [s for s in found.json()["segments"] if s["id"] == segment["id"]]
            return mine or None

        [membership] = await eventually(joined, what="the vip customer in the segment")
        assert (membership["name"], membership["score"]) == (segment["name"], 3)
        own = {"authorization": f"Bearer {customer_token(vip['id'])}"}
        mine = await anonymous.get(f"{CUSTOMERS}/{vip['id']}/segments", headers=own)
        assert segment["id"] in [s["id"] for s in mine.json()["segments"]]
        outside = await api.get(f"{CUSTOMERS}/{retail['id']}/segments")
        assert segment["id"] not in [s["id"] for s in outside.json()["segments"]]
    finally:
        await api.delete(f"/api/v1/segments/{segment['id']}")
    unknown = await api.get(f"{CUSTOMERS}/{uuid.uuid4()}/segments")
    assert unknown.status_code == 404
    malformed = await api.get(f"{CUSTOMERS}/not-an-id/segments")
    assert malformed.status_code == 422


async def test_one_customers_reply_carries_its_order_statistics(
    api: httpx.AsyncClient, order_service: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    customer = await create(api)
    assert (customer["total_orders"], customer["total_spent"], customer["last_order_at"]) == (
        0,
        "0",
        None,
    )
    placed_at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    order = {
        "order_id": "o-" + secrets.token_hex(4),
        "customer_id": customer["id"],
        "total": "49.90",
        "placed_at": placed_at.isoformat(),
    }
    published = await order_service.post("/v1.0/publish/customer-pubsub/order-events", json=order)
    assert published.status_code == 204

    async def counted() -> dict[str, Any] | None:
        shown: dict[str, Any] = (await api.get(f"{CUSTOMERS}/{customer['id']}")).json()["customer"]
        return shown if shown["total_orders"] == 1 else None

    shown = await eventually(counted, what="the order counted")
    assert shown["total_spent"] == "49.90"
    assert datetime.fromisoformat(shown["last_order_at"]) == placed_at
    stored = await stored_document(db, customer["id"])
    assert stored is not None
    assert "total_orders" not in stored  # the document keeps them under "orders"
