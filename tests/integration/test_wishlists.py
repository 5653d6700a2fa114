"""Wishlists on the real stack: routes, versions, idempotency, limits, events,
the document they live in, export and erasure."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx

from tests.integration.conftest import CallerSidecars, EventSink, customer_token
from tests.support.documents import create, stored_document
from tests.support.polling import eventually

CUSTOMERS = "/api/v1/customers"
INVOKE = "/v1.0/invoke/customer-service/method"


def lists_url(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/wishlists"


async def stored_wishlists(db: asyncpg.Connection, customer_id: str) -> dict[str, Any] | None:
    raw = await db.fetchval(
        "SELECT convert_from(value, 'UTF8') FROM dapr_state WHERE key = $1",
        f"customer-service||wishlists:{customer_id}",
    )
    return None if raw is None else json.loads(raw)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(":" + slug), body
    return body


async def new_wishlist(api: httpx.AsyncClient, customer_id: str, name: str = "Birthday") -> Any:
    made = await api.post(lists_url(customer_id), json={"name": name})
    assert made.status_code == 201, made.text
    return made.json()["wishlist"]


async def test_a_wishlist_lives_its_own_versions(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    customer = await create(api)
    cid = customer["id"]
    made = await api.post(lists_url(cid), json={"name": "Birthday"})
    assert made.status_code == 201, made.text
    wishlist = made.json()["wishlist"]
    wid = wishlist["id"]
    assert made.headers["etag"] == '"1"'
    assert made.headers["location"] == f"{lists_url(cid)}/{wid}"
    assert (wishlist["name"], wishlist["version"], wishlist["items"]) == ("Birthday", 1, [])

    url = f"{lists_url(cid)}/{wid}"
    stale = await api.patch(url, json={"name": "Xmas"}, headers={"if-match": '"7"'})
    problem(stale, 412, "version-mismatch")
    renamed = await api.patch(url, json={"name": "Xmas"}, headers={"if-match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["wishlist"]["name"], renamed.headers["etag"]) == ("Xmas", '"2"')

    added = await api.post(f"{url}/items", json={"product_id": "SKU-1", "variant_id": "red"})
    assert added.status_code == 201, added.text
    item = added.json()["item"]
    assert (item["quantity"], added.json()["version"], added.headers["etag"]) == (1, 3, '"3"')
    again = await api.post(
        f"{url}/items", json={"product_id": "SKU-1", "variant_id": "red", "quantity": 4}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["item"]["id"], again.json()["item"]["quantity"]) == (item["id"], 4)
    unchanged = await api.post(f"{url}/items", json={"product_id": "SKU-1", "variant_id": "red"})
    assert (unchanged.status_code, unchanged.json()["version"]) == (200, 4)
    other = await api.post(f"{url}/items", json={"product_id": "SKU-1", "variant_id": "blue"})
    assert other.status_code == 201
    assert other.json()["item"]["id"] != item["id"]

    shown = await api.get(url)
    assert shown.headers["etag"] == '"5"'
    assert [i["variant_id"] for i in shown.json()["wishlist"]["items"]] == ["red", "blue"]
    listed = (await api.get(lists_url(cid))).json()["wishlists"]
    assert [(w["id"], w["item_count"], w["version"]) for w in listed] == [(wid, 2, 5)]

    removed = await api.delete(f"{url}/items/{item['id']}", headers={"if-match": '"5"'})
    assert (removed.status_code, removed.headers["etag"]) == (204, '"6"')
    problem(await api.delete(f"{url}/items/{item['id']}"), 404, "wishlist-item-not-found")
    deleted = await api.delete(url, headers={"if-match": '"6"'})
    assert deleted.status_code == 204
    problem(await api.get(url), 404, "wishlist-not-found")
    assert (await api.get(lists_url(cid))).json() == {"wishlists": []}

    # The customer's own document never moved: wishlists are a document of their own.
    document = await stored_document(db, cid)
    assert document is not None
    assert document["version"] == customer["version"]
    assert "wishlists" not in document
    lists = await stored_wishlists(db, cid)
    assert lists is not None
    assert lists["wishlists"] == []


async def test_retries_with_an_idempotency_key_apply_once(api: httpx.AsyncClient) -> None:
    cid = (await create(api))["id"]
    key = {"idempotency-key": f"wl-{uuid.uuid4()}"}
    first = await api.post(lists_url(cid), json={"name": "Gifts"}, headers=key)
    retry = await api.post(lists_url(cid), json={"name": "Gifts"}, headers=key)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["wishlist"]["id"] == first.json()["wishlist"]["id"]
    problem(
        await api.post(lists_url(cid), json={"name": "Other"}, headers=key),
        422,
        "idempotency-key-reused",
    )
    url = f"{lists_url(cid)}/{first.json()['wishlist']['id']}/items"
    item_key = {"idempotency-key": f"item-{uuid.uuid4()}"}
    body = {"product_id": "SKU-9", "quantity": 2}
    added = await api.post(url, json=body, headers=item_key)
    replayed = await api.post(url, json=body, headers=item_key)
    assert (added.status_code, replayed.status_code) == (201, 201)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["item"] == added.json()["item"]
    assert len((await api.get(lists_url(cid))).json()["wishlists"]) == 1


async def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cid = (await create(api))["id"]
    wid = (await new_wishlist(api, cid))["id"]
    before = await stored_wishlists(db, cid)
    url = f"{lists_url(cid)}/{wid}"

    bodies: tuple[tuple[dict[str, Any], set[str]], ...] = (
        ({}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": "x" * 101, "color": "red"}, {"name", "color"}),
        ({"name": "a\x00b"}, {"name"}),
    )
    for body, fields in bodies:
        refused = problem(await api.post(lists_url(cid), json=body), 422, "validation-failed")
        assert {e["field"] for e in refused["errors"]} == fields, body
    items: tuple[tuple[dict[str, Any], set[str]], ...] = (
        ({"quantity": 0}, {"product_id", "quantity"}),
        (
            {"product_id": "p" * 101, "quantity": 1000, "note": "n" * 501},
            {"product_id", "quantity", "note"},
        ),
        ({"product_id": "SKU", "variant_id": ""}, {"variant_id"}),
    )
    for body, fields in items:
        refused = problem(await api.post(f"{url}/items", json=body), 422, "validation-failed")
        assert {e["field"] for e in refused["errors"]} == fields, body
    problem(await api.patch(url, json={"name": None}), 422, "validation-failed")
    problem(await api.get(f"{lists_url(cid)}/not-a-uuid"), 422, "validation-failed")
    unknown = f"{lists_url(cid)}/{uuid.uuid4()}"
    problem(await api.get(unknown), 404, "wishlist-not-found")
    problem(await api.patch(unknown, json={"name": "x"}), 404, "wishlist-not-found")
    problem(await api.post(f"{unknown}/items", json={"product_id": "x"}), 404, "wishlist-not-found")
    problem(await api.delete(f"{url}/items/{uuid.uuid4()}"), 404, "wishlist-item-not-found")
    problem(
        await api.post(lists_url(str(uuid.uuid4())), json={"name": "x"}), 404, "customer-not-found"
    )
    assert await stored_wishlists(db, cid) == before


async def test_only_the_customer_or_an_admin(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, caller_sidecars: CallerSidecars
) -> None:
    me, other = (await create(api))["id"], (await create(api))["id"]
    own = {"authorization": f"Bearer {customer_token(me)}"}
    mine = await anonymous.post(lists_url(me), json={"name": "Mine"}, headers=own)
    assert mine.status_code == 201, mine.text
    assert (await anonymous.get(lists_url(me), headers=own)).status_code == 200
    for response in (
        await anonymous.get(lists_url(other), headers=own),
        await anonymous.post(lists_url(other), json={"name": "Theirs"}, headers=own),
    ):
        problem(response, 403, "forbidden")
    assert (await anonymous.get(lists_url(me))).status_code == 401
    async with httpx.AsyncClient(
        base_url=caller_sidecars("order-service").url,
        headers={"dapr-api-token": caller_sidecars("order-service").api_token},
    ) as orders:  # a read caller: wishlists are not among its look-ups
        assert (await orders.get(INVOKE + lists_url(me))).status_code == 403
    assert (await api.get(lists_url(other))).json() == {"wishlists": []}


async def test_wishlist_events_carry_the_wishlist_and_the_read_model_ignores_them(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    cid = (await create(api))["id"]
    wishlist = await new_wishlist(api, cid)
    url = f"{lists_url(cid)}/{wishlist['id']}"
    item = (await api.post(f"{url}/items", json={"product_id": "SKU-7"})).json()["item"]
    await api.delete(f"{url}/items/{item['id']}")
    assert (await api.delete(url)).status_code == 204
    expected = [
        "customer.wishlist.created",
        "customer.wishlist.item_added",
        "customer.wishlist.item_removed",
        "customer.wishlist.deleted",
    ]

    async def arrived() -> list[dict[str, Any]] | None:
        found = [e for e in await event_sink.for_subject(cid) if "wishlist" in e["type"]]
        return found if len(found) == len(expected) else None

    events = sorted(
        await eventually(arrived, what="the wishlist events"), key=lambda e: e["data"]["version"]
    )
    assert [e["type"] for e in events] == expected
    assert [e["data"]["version"] for e in events] == [1, 2, 3, 4]
    assert all(e["data"]["wishlist_id"] == wishlist["id"] for e in events)
    assert events[1]["data"]["snapshot"]["items"][0]["product_id"] == "SKU-7"
    # The only item gone: the list changed as a whole (as the last address does).
    assert events[2]["data"]["changes"]["items"]["before"][0]["id"] == item["id"]
    assert events[2]["data"]["snapshot"]["items"] == []
    assert events[3]["data"]["deleted"] is True
    assert "snapshot" not in events[3]["data"]
    assert all(
        e["dataschema"].startswith("urn:customer-service:schema:customer.wishlist.") for e in events
    )
    letters = [d for d in await event_sink.dead_letters() if cid in json.dumps(d)]
    assert letters == []
    row = await api.get(CUSTOMERS, params={"ids": cid})
    assert row.json()["customers"][0]["version"] == 1


async def test_limits_answer_409_and_a_full_wishlist_leaves_profile_events_small(
    api: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    cid = (await create(api))["id"]
    lists = [await new_wishlist(api, cid, f"list {n}") for n in range(20)]
    problem(await api.post(lists_url(cid), json={"name": "one more"}), 409, "too-many-wishlists")
    url = f"{lists_url(cid)}/{lists[0]['id']}/items"
    async with httpx.AsyncClient(
        base_url=str(api.base_url), headers=api.headers, timeout=60
    ) as client:
        for n in range(500):
            added = await client.post(url, json={"product_id": f"SKU-{n:05d}", "note": "for later"})
            assert added.status_code == 201, added.text
    full = problem(
        await api.post(url, json={"product_id": "SKU-last"}), 409, "too-many-wishlist-items"
    )
    assert "500" in full["detail"]
    stored = await stored_wishlists(db, cid)
    assert stored is not None
    assert len(stored["wishlists"][0]["items"]) == 500

    patched = await api.patch(f"{CUSTOMERS}/{cid}", json={"first_name": "Wanda"})
    assert patched.status_code == 200

    async def profile_event() -> dict[str, Any] | None:
        found = [e for e in await event_sink.for_subject(cid) if e["type"] == "customer.updated"]
        return found[0] if found else None

    event = await eventually(profile_event, what="the profile change's event")
    size = len(json.dumps(event["data"], separators=(",", ":")))
    print(f"customer.updated with 500 wishlist items: data {size} bytes")
    assert "wishlist" not in json.dumps(event["data"])
    assert size < 4096

    async def last_item_event() -> dict[str, Any] | None:
        found = [
            e
            for e in await event_sink.for_subject(cid)
            if e["type"] == "customer.wishlist.item_added" and e["data"]["version"] == 501
        ]
        return found[0] if found else None

    item_event = await eventually(last_item_event, what="the 500th item's event")
    item_size = len(json.dumps(item_event["data"], separators=(",", ":")))
    print(f"customer.wishlist.item_added of the 500th item: data {item_size} bytes")
    assert len(item_event["data"]["snapshot"]["items"]) == 500


async def test_a_change_past_the_byte_budget_is_409_and_the_document_stays(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Items as long as allowed, each character escaped to 12 bytes in JSON: far
    fewer than 500 take the document to the budget (3 MiB with its largest list),
    every change up to it still fits in daprd's 4 MiB request, the next is refused."""
    wide = "\N{GRINNING FACE}"
    cid = (await create(api))["id"]
    url = f"{lists_url(cid)}/{(await new_wishlist(api, cid, wide * 100))['id']}/items"
    refused = None
    async with httpx.AsyncClient(
        base_url=str(api.base_url), headers=api.headers, timeout=60
    ) as client:
        for n in range(500):
            before = await db.fetchval(
                "SELECT value FROM dapr_state WHERE key = $1",
                f"customer-service||wishlists:{cid}",
            )
            body = {"product_id": f"{n:04d}" + wide * 96, "variant_id": wide * 100}
            added = await client.post(url, json={**body, "note": wide * 500})
            if added.status_code != 201:
                refused = added
                break
    assert refused is not None, "500 widest items were all accepted"
    body = problem(refused, 409, "wishlists-too-large")
    assert "bytes" in body["detail"]
    assert 100 < n < 500
    # Nothing stored: the document is byte for byte the one before the refusal,
    # and it is as large as the budget lets it be (the commits near it went through).
    after = await db.fetchval(
        "SELECT value FROM dapr_state WHERE key = $1", f"customer-service||wishlists:{cid}"
    )
    assert after == before
    stored = json.loads(bytes(after))
    assert len(stored["wishlists"][0]["items"]) == n
    assert len(json.dumps(stored, separators=(",", ":"))) > 1024 * 1024
    # What shrinks the document is still allowed.
    item_id = stored["wishlists"][0]["items"][0]["id"]
    removed = await api.delete(f"{url}/{item_id}")
    assert removed.status_code == 204, removed.text


async def test_export_holds_the_wishlists_and_erasure_removes_them(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cid = (await create(api))["id"]
    wishlist = await new_wishlist(api, cid, "Kept")
    await api.post(f"{lists_url(cid)}/{wishlist['id']}/items", json={"product_id": "SKU-3"})
    exported = await api.get(f"{CUSTOMERS}/{cid}/export")
    assert exported.status_code == 200
    [held] = exported.json()["wishlists"]
    assert (held["name"], [i["product_id"] for i in held["items"]]) == ("Kept", ["SKU-3"])

    deleted = await api.delete(f"{CUSTOMERS}/{cid}")
    assert deleted.status_code == 204
    problem(await api.get(lists_url(cid)), 410, "customer-deleted")
    problem(await api.post(lists_url(cid), json={"name": "x"}), 410, "customer-deleted")
    assert await stored_wishlists(db, cid) is not None  # kept while it can be restored

    erased = await api.post(f"{CUSTOMERS}/{cid}/erasure", json={"immediate": True})
    assert erased.status_code == 202, erased.text
    assert await stored_wishlists(db, cid) is None
    problem(await api.get(lists_url(cid)), 410, "customer-erased")
