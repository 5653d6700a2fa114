"""Reads answered from the committed document, without the customer's actor
(service/stored_reads.py): read-your-writes, the actor's answer, its checks."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx

from devstack.stack import App
from service.schemas import ADDRESS_EXAMPLE
from tests.support.credentials import call_actor
from tests.support.documents import create, store_behind_the_actors_back


def address_body() -> dict[str, object]:
    return {k: v for k, v in ADDRESS_EXAMPLE.items() if k != "customer_id"}


def actor_calls_for(app: App, customer_id: str) -> list[str]:
    """The actor calls for ``customer_id`` the app's access log shows."""
    lines = Path(app.app.log_path).read_text().splitlines()
    found = []
    for line in lines:
        if not line.startswith("{") or customer_id not in line:
            continue
        entry = json.loads(line)
        if entry.get("message") == "request" and entry.get("endpoint", "").startswith("/actors/"):
            found.append(entry["endpoint"])
    return found


async def test_every_reply_of_a_change_is_seen_by_the_next_read(api: httpx.AsyncClient) -> None:
    customer = await create(api)
    path = f"/api/v1/customers/{customer['id']}"

    for n in range(20):
        changed = await api.patch(path, json={"first_name": f"Name{n}"})
        assert changed.status_code == 200, changed.text
        read = await api.get(path)
        assert read.status_code == 200
        assert read.headers["etag"] == changed.headers["etag"]
        assert read.json() == changed.json()

    added = await api.post(f"{path}/addresses", json=address_body())
    assert added.status_code == 201, added.text
    listed = await api.get(f"{path}/addresses")
    assert added.json()["address"]["id"] in {a["id"] for a in listed.json()["addresses"]}
    assert listed.headers["etag"] == added.headers["etag"]


async def test_a_read_answers_what_the_actor_answers(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient
) -> None:
    customer = await create(api)
    path = f"/api/v1/customers/{customer['id']}"
    assert (await api.post(f"{path}/addresses", json=address_body())).status_code == 201
    assert (await api.patch(f"{path}/preferences", json={"sms_marketing": True})).status_code == 200

    for method, route, field in (
        ("get", path, "customer"),
        ("get_addresses", f"{path}/addresses", "addresses"),
        ("get_preferences", f"{path}/preferences", "preferences"),
    ):
        from_actor = (await call_actor(sidecar, "Customer", customer["id"], method, {})).json()
        read = await api.get(route)
        assert read.status_code == 200
        assert from_actor["ok"] is True
        assert read.json()[field] == json.loads(json.dumps(from_actor[field]))


async def test_a_read_takes_no_turn_of_the_actor(
    api: httpx.AsyncClient, sidecar: httpx.AsyncClient, customer_service: App
) -> None:
    customer_id = str(uuid.uuid4())
    stored = await store_behind_the_actors_back(sidecar, customer_id, version=4)

    reads = await asyncio.gather(*(api.get(f"/api/v1/customers/{customer_id}") for _ in range(5)))
    addresses = await api.get(f"/api/v1/customers/{customer_id}/addresses")

    assert {r.status_code for r in reads} == {200}
    assert {r.headers["etag"] for r in reads} == {'"4"'}
    assert reads[0].json()["customer"]["email"] == stored["email"]
    assert addresses.status_code == 200
    assert actor_calls_for(customer_service, customer_id) == []


async def test_a_deleted_or_unknown_customer_is_refused_as_the_actor_refuses(
    api: httpx.AsyncClient,
) -> None:
    customer = await create(api)
    path = f"/api/v1/customers/{customer['id']}"
    assert (await api.delete(path)).status_code == 204

    gone = await api.get(path)
    kept = await api.get(path, params={"include_deleted": "true"})
    addresses = await api.get(f"{path}/addresses")
    unknown = await api.get(f"/api/v1/customers/{uuid.uuid4()}")

    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert kept.status_code == 200
    assert kept.json()["customer"]["deleted_at"] is not None
    assert addresses.status_code == 410
    assert unknown.status_code == 404
