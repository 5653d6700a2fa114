"""Addresses and preferences on the real stack: the default invariant under
concurrency, country rules, idempotent creates, consent records."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import httpx

from service.schemas import ADDRESS_EXAMPLE
from tests.integration.conftest import EventSink, customer_body
from tests.support.documents import OUTBOX_SETTLE_SECONDS, stored_document

CUSTOMERS = "/api/v1/customers"


async def new_customer(api: httpx.AsyncClient) -> str:
    response = await api.post(CUSTOMERS, json=customer_body())
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["customer"]["id"]
    return customer_id


def address(**overrides: Any) -> dict[str, Any]:
    body = {k: v for k, v in ADDRESS_EXAMPLE.items() if k != "customer_id"}
    return {**body, "is_default": False, **overrides}


def assert_one_default_per_kind(addresses: list[dict[str, Any]]) -> None:
    for kind, flag in (("SHIPPING", "is_default_shipping"), ("BILLING", "is_default_billing")):
        serving = [a for a in addresses if a["type"] in (kind, "BOTH")]
        defaults = [a for a in serving if a[flag]]
        assert len(defaults) == (1 if serving else 0), (kind, addresses)
        assert not any(a[flag] for a in addresses if a not in serving)


async def test_the_seed_request_creates_a_default_shipping_address(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    customer_id = await new_customer(api)

    response = await api.post(
        f"{CUSTOMERS}/{customer_id}/addresses", json={**ADDRESS_EXAMPLE, "customer_id": customer_id}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'
    created = body["address"]
    assert response.headers["location"].endswith(f"/addresses/{created['id']}")
    assert created["is_default"]
    assert created["is_default_shipping"]
    assert not created["is_default_billing"]
    await event_sink.wait_for_version(customer_id, 2, within=15)
    event = next(e for e in await event_sink.for_subject(customer_id) if e["data"]["version"] == 2)
    assert event["type"] == "customer.address.created"
    assert event["data"]["changes"]["default_shipping_address_id"]["after"] == created["id"]
    assert event["data"]["snapshot"]["addresses"][0]["id"] == created["id"]


async def test_country_rules_list_every_error_and_store_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    customer_id = await new_customer(api)
    bad = address(state_province="Atlantis", postal_code="ABCDE")

    response = await api.post(f"{CUSTOMERS}/{customer_id}/addresses", json=bad)
    syntax = await api.post(
        f"{CUSTOMERS}/{customer_id}/addresses",
        json={"type": "HOME", "country_code": "USA", "phone": "12", "extra": 1},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["postal_code", "state_province"]
    assert syntax.status_code == 422
    assert sorted(e["field"] for e in syntax.json()["errors"]) == [
        "address_line_1",
        "city",
        "country_code",
        "extra",
        "phone",
        "type",
    ]
    stored = await stored_document(db, customer_id)
    assert stored is not None
    assert (stored["version"], stored["addresses"]) == (1, [])
    await asyncio.sleep(OUTBOX_SETTLE_SECONDS)
    assert [e["data"]["version"] for e in await event_sink.for_subject(customer_id)] == [1]


async def test_deleting_the_default_promotes_another_in_the_same_change(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    customer_id = await new_customer(api)
    url = f"{CUSTOMERS}/{customer_id}/addresses"
    first = (await api.post(url, json=address())).json()["address"]
    second = (await api.post(url, json=address(city="Albany", postal_code="12207"))).json()
    assert not second["address"]["is_default"]

    deleted = await api.delete(f"{url}/{first['id']}")

    assert deleted.status_code == 204
    assert deleted.headers["etag"] == '"4"'
    listed = await api.get(url)
    assert [a["id"] for a in listed.json()["addresses"]] == [second["address"]["id"]]
    assert listed.json()["addresses"][0]["is_default_shipping"]
    await event_sink.wait_for_version(customer_id, 4, within=15)
    event = next(e for e in await event_sink.for_subject(customer_id) if e["data"]["version"] == 4)
    assert event["type"] == "customer.address.deleted"
    assert event["data"]["changes"]["default_shipping_address_id"] == {
        "before": first["id"],
        "after": second["address"]["id"],
    }


async def test_set_default_moves_one_kind_or_all(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)
    url = f"{CUSTOMERS}/{customer_id}/addresses"
    first = (await api.post(url, json=address(type="BOTH"))).json()["address"]
    second = await api.post(url, json=address(type="BOTH", city="Albany", postal_code="12207"))
    second_id = second.json()["address"]["id"]

    billing = await api.post(f"{url}/{second_id}/set-default", json={"type": "BILLING"})
    assert billing.status_code == 200
    assert billing.json()["address"]["is_default_billing"]
    assert not billing.json()["address"]["is_default_shipping"]
    both = await api.post(f"{url}/{second_id}/set-default")
    assert both.json()["address"]["is_default_shipping"]
    again = (await api.get(f"{url}/{first['id']}")).json()["address"]
    assert not again["is_default"]
    missing = await api.post(f"{url}/{uuid.uuid4()}/set-default")
    assert missing.status_code == 404


async def test_fifty_concurrent_address_operations_keep_every_invariant(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    customer_id = await new_customer(api)
    url = f"{CUSTOMERS}/{customer_id}/addresses"
    seeded = [
        (await api.post(url, json=address(type=kind))).json()["address"]["id"]
        for kind in ("SHIPPING", "BILLING", "BOTH", "SHIPPING", "BILLING")
    ]
    rng = random.Random(7)  # noqa: S311 - a reproducible mix, not a secret

    def operation(n: int) -> Any:
        target = rng.choice(seeded)
        kind = rng.choice(["SHIPPING", "BILLING", "BOTH"])
        match n % 5:
            case 0 | 1:
                return api.post(url, json=address(type=kind, is_default=rng.random() < 0.5))
            case 2:
                return api.patch(f"{url}/{target}", json={"type": kind, "is_default": True})
            case 3:
                return api.post(f"{url}/{target}/set-default")
            case _:
                return api.delete(f"{url}/{target}")

    responses = await asyncio.gather(*(operation(n) for n in range(50)))

    # Deletes of an address already deleted get 404; nothing else may fail.
    assert {r.status_code for r in responses} <= {200, 201, 204, 404}, [
        r.text for r in responses if r.status_code >= 400
    ]
    final = (await api.get(url)).json()
    assert_one_default_per_kind(final["addresses"])
    stored = await stored_document(db, customer_id)
    assert stored is not None
    last = stored["version"]
    assert last == final["version"]
    # 1 create + 5 seeded + 20 adds at least; the rest depends on the interleaving.
    assert last >= 26
    await event_sink.wait_for_version(customer_id, last, within=30)
    events = await event_sink.for_subject(customer_id)
    by_version: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        by_version.setdefault(event["data"]["version"], []).append(event)
    # Versions run 1..N, each one the event of exactly one committed change.
    assert sorted(by_version) == list(range(1, last + 1))
    for copies in by_version.values():
        assert all(copy["data"] == copies[0]["data"] for copy in copies)
    # The last event's snapshot is what is stored and what the API shows.
    snapshot = by_version[last][0]["data"]["snapshot"]
    assert [a["id"] for a in snapshot["addresses"]] == [a["id"] for a in final["addresses"]]
    for event in events:
        state = event["data"]["snapshot"]
        views = [
            {
                **a,
                "is_default_shipping": a["id"] == state["default_shipping_address_id"],
                "is_default_billing": a["id"] == state["default_billing_address_id"],
            }
            for a in state["addresses"]
        ]
        assert_one_default_per_kind(views)


async def test_a_retried_address_create_with_the_same_key_creates_once(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await new_customer(api)
    url = f"{CUSTOMERS}/{customer_id}/addresses"
    headers = {"Idempotency-Key": "addr-" + uuid.uuid4().hex}

    first = await api.post(url, json=address(), headers=headers)
    retry = await api.post(url, json=address(), headers=headers)
    changed = await api.post(url, json=address(city="Albany"), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["address"]["id"] == first.json()["address"]["id"]
    assert changed.status_code == 422
    assert len((await api.get(url)).json()["addresses"]) == 1


async def test_preferences_record_each_consent_change(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    customer_id = await new_customer(api)
    url = f"{CUSTOMERS}/{customer_id}/preferences"
    initial = await api.get(url)
    assert initial.status_code == 200
    assert initial.json()["preferences"]["email_marketing"] is False

    response = await api.patch(
        url,
        json={"email_marketing": True, "custom_preferences": {"size": "M"}, "source": "checkout"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 200, response.text
    preferences = response.json()["preferences"]
    assert preferences["email_marketing"] is True
    assert preferences["consents"]["email_marketing"]["source"] == "checkout"
    assert preferences["consents"]["newsletter"]["source"] == "default"
    assert preferences["custom_preferences"] == {"size": "M"}
    await event_sink.wait_for_version(customer_id, 2, within=15)
    event = next(e for e in await event_sink.for_subject(customer_id) if e["data"]["version"] == 2)
    assert event["type"] == "customer.preferences.updated"
    assert event["data"]["changes"]["preferences.email_marketing"] == {
        "before": False,
        "after": True,
    }
