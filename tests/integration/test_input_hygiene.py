"""Bad input on the real stack: a field error or a 4xx problem, never a 500, a
frozen read-model row or a stored segment nobody can list again."""

from __future__ import annotations

import asyncio
import secrets
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.stack import Infrastructure
from domain.unique_keys import email_key
from readmodel.generate import generate
from readmodel.rekey_claims import legacy_email_key, rekey_claims
from service.app import MAX_BODY_DEPTH
from tests.integration.conftest import EventSink, customer_body, customer_token, unique_email
from tests.support.accounts import register, stored_holder
from tests.support.documents import stored_customers_with
from tests.support.hostile import (
    EXTREME_MOMENTS,
    FORGED_CURSORS,
    NUL,
    nested,
    nested_json,
    nfd,
    problem_fields,
)
from tests.support.polling import eventually
from tests.support.sink_client import forget_events
from tests.support.values import NEW_YORK_ADDRESS

CUSTOMERS = "/api/v1/customers"
SEGMENTS = "/api/v1/segments"
PASSWORD = "correct horse battery"


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post(CUSTOMERS, json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


@pytest.fixture
async def customer(api: httpx.AsyncClient) -> dict[str, Any]:
    return await create(api)


@pytest.fixture
async def as_customer(customer: dict[str, Any], anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    """The customer's own client: what a shopper can reach."""
    anonymous.headers["authorization"] = f"Bearer {customer_token(customer['id'])}"
    return anonymous


# -- finding 6: NUL and other control characters ------------------------------------------


async def test_nul_anywhere_in_a_create_is_a_field_error_for_each_place(
    api: httpx.AsyncClient,
) -> None:
    body = customer_body(
        first_name=f"Jo{NUL}hn",
        last_name="Doe\x1b[31m",
        metadata={f"k{NUL}": 1, "nested": {"list": ["ok", f"v{NUL}"]}},
    )

    response = await api.post(CUSTOMERS, json=body)

    assert response.status_code == 422
    assert problem_fields(response) == {
        "first_name",
        "last_name",
        "metadata.k\\u0000",
        "metadata.nested.list.1",
    }
    # Nothing was created under that email.
    found = await api.get(CUSTOMERS, params={"email": body["email"], "include_deleted": "true"})
    assert found.json()["customers"] == []


async def test_a_refused_nul_leaves_the_customer_listed_and_its_events_applied(
    api: httpx.AsyncClient,
    as_customer: httpx.AsyncClient,
    customer: dict[str, Any],
    event_sink: EventSink,
) -> None:
    url = f"{CUSTOMERS}/{customer['id']}"
    refused = await as_customer.patch(
        f"{url}/preferences", json={"custom_preferences": {"theme": f"dark{NUL}"}}
    )
    assert refused.status_code == 422
    assert problem_fields(refused) == {"custom_preferences.theme"}
    refused = await api.patch(url, json={"metadata": {"a": {"b": NUL}}, "first_name": NUL})
    assert problem_fields(refused) == {"metadata.a.b", "first_name"}

    changed = await api.patch(url, json={"first_name": "Listed"})
    assert changed.status_code == 200

    async def listed() -> dict[str, Any] | None:
        page = (await api.get(CUSTOMERS, params={"email": customer["email"]})).json()
        rows = [c for c in page["customers"] if c["version"] == 2]
        return rows[0] if rows else None

    assert (await eventually(listed))["first_name"] == "Listed"
    letters = [
        letter
        for letter in await event_sink.dead_letters()
        if customer["id"] in str(letter.get("data", {}).get("event", ""))
    ]
    assert letters == []


async def test_nul_in_query_parameters_is_a_422_not_a_500(api: httpx.AsyncClient) -> None:
    for name in ("email", "q", "group"):
        response = await api.get(CUSTOMERS, params={name: f"a{NUL}b"})
        assert response.status_code == 422, (name, response.text)
        assert problem_fields(response) == {name}


async def test_nul_in_segment_fields_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    name = "nul-" + secrets.token_hex(3)
    body = {
        "name": f"{name}{NUL}",
        "description": f"about{NUL}",
        "rules": [{"field": "status", "operator": "eq", "value": f"ACTIVE{NUL}"}],
    }

    response = await api.post(SEGMENTS, json=body)

    assert response.status_code == 422
    assert problem_fields(response) == {"name", "description", "rules.0.value"}
    assert await db.fetchval("SELECT count(*) FROM segments WHERE name LIKE $1", name + "%") == 0


# -- deep nesting and sizes ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [9, 256, 600, 999])
async def test_deep_json_from_a_customer_token_is_a_field_error(
    as_customer: httpx.AsyncClient, customer: dict[str, Any], depth: int
) -> None:
    response = await as_customer.patch(
        f"{CUSTOMERS}/{customer['id']}/preferences",
        content=nested_json(depth, "custom_preferences"),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422, response.text[:300]
    [error] = response.json()["errors"]
    assert error["code"] == "too_deep"
    # Within what the body may nest, the field says where; beyond, the body as a whole.
    expected = "custom_preferences.a.a" if depth < MAX_BODY_DEPTH else "body"
    assert error["field"].startswith(expected)


async def test_a_deeply_nested_segment_rule_is_refused_and_segments_stay_listable(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    name = "deep-" + secrets.token_hex(3)
    for depth, fields in ((20, {"rules.0.value"}), (300, {"body"})):
        rule = {"field": "status", "operator": "in", "value": nested(depth)}
        response = await api.post(SEGMENTS, json={"name": name, "rules": [rule]})
        assert response.status_code == 422
        assert problem_fields(response) == fields
    assert await db.fetchval("SELECT count(*) FROM segments WHERE name = $1", name) == 0
    assert (await api.get(SEGMENTS)).status_code == 200


async def test_free_form_json_over_its_size_limit_is_a_field_error(
    as_customer: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    response = await as_customer.patch(
        f"{CUSTOMERS}/{customer['id']}/preferences",
        json={"custom_preferences": {"blob": "x" * 20_000}},
    )
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["too_large"]


async def test_a_body_over_the_request_limit_is_413_with_or_without_content_length(
    as_customer: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    url = f"{CUSTOMERS}/{customer['id']}/preferences"
    megabyte = {"custom_preferences": {"blob": "x" * 1_000_000}}
    declared = await as_customer.patch(url, json=megabyte)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["type"].endswith(":payload-too-large")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"custom_preferences": {"blob": "'
        for _ in range(2048):
            yield b"x" * 1024
        yield b'"}}'

    chunked = await as_customer.patch(
        url, content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert "content-length" not in chunked.request.headers
    # The customer is untouched and answers as before.
    assert (await as_customer.get(url)).json()["version"] == customer["version"]


# -- cursors, unknown parameters, extreme dates --------------------------------------------


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
async def test_any_malformed_cursor_is_400_bad_cursor(api: httpx.AsyncClient, cursor: str) -> None:
    for params in ({"cursor": cursor}, {"cursor": cursor, "sort": "name"}):
        response = await api.get(CUSTOMERS, params=params)
        assert response.status_code == 400, response.text
        assert response.json()["type"].endswith(":bad-cursor")


async def test_a_malformed_member_cursor_is_400_bad_cursor(api: httpx.AsyncClient) -> None:
    created = await api.post(SEGMENTS, json={"name": "cursor-" + secrets.token_hex(3)})
    segment_id = created.json()["segment"]["id"]
    try:
        for cursor in FORGED_CURSORS:
            url = f"{SEGMENTS}/{segment_id}/customers"
            response = await api.get(url, params={"cursor": cursor})
            assert response.status_code == 400, response.text
    finally:
        # A segment without rules holds everyone: it must not outlive the test.
        await api.delete(f"{SEGMENTS}/{segment_id}")


async def test_unknown_list_filters_are_refused_with_each_name(api: httpx.AsyncClient) -> None:
    response = await api.get(
        CUSTOMERS, params={"nickname": "jo", "city": "Paris", "status": "ACTIVE"}
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith(":unknown-query-parameter")
    assert problem_fields(response) == {"nickname", "city"}
    assert all(e["in"] == "query" for e in response.json()["errors"])
    members = await api.get(f"{SEGMENTS}/{uuid.uuid4()}/customers", params={"page": "2"})
    assert members.status_code == 400


@pytest.mark.parametrize("moment", EXTREME_MOMENTS)
async def test_extreme_dates_are_422(api: httpx.AsyncClient, moment: str) -> None:
    for name in ("created_from", "created_to"):
        response = await api.get(CUSTOMERS, params={name: moment})
        assert response.status_code == 422, (name, moment, response.text)
        assert problem_fields(response) == {name}
    created = await api.post(CUSTOMERS, json=customer_body(date_of_birth=moment))
    assert created.status_code == 422, created.text
    assert problem_fields(created) == {"date_of_birth"}
    rule = {"field": "created_at", "operator": "gt", "value": moment}
    segment = await api.post(SEGMENTS, json={"name": "t-" + secrets.token_hex(3), "rules": [rule]})
    assert segment.status_code == 422


# -- emails: one address, whatever its Unicode spelling ------------------------------------


async def test_nfc_and_nfd_spellings_of_one_email_are_one_account(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    composed = unicodedata.normalize("NFC", f"Zoë.Ångström-{secrets.token_hex(4)}@example.com")
    decomposed = nfd(composed.lower())
    assert composed.encode() != decomposed.encode()
    first = await register(anonymous, composed, PASSWORD)
    assert first.status_code == 202, first.text

    async def holder() -> str | None:
        return await stored_holder(db, composed)

    customer_id = await eventually(holder)
    # A taken address is answered as a free one (nothing tells it is taken) ...
    second = await register(anonymous, decomposed, PASSWORD)
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    await asyncio.sleep(1)  # what the second registration does happens after its answer
    # ... and no second account is made: one stored customer holds the address.
    assert await stored_customers_with(db, composed) == [customer_id]
    login = await anonymous.post(
        f"{CUSTOMERS}/login", json={"email": decomposed.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert login.json()["customer_id"] == customer_id

    async def listed() -> list[str] | None:
        page = (await api.get(CUSTOMERS, params={"email": decomposed})).json()
        return [c["id"] for c in page["customers"]] or None

    assert await eventually(listed) == [customer_id]


async def test_rekeying_moves_claims_made_under_the_old_normalization(
    api: httpx.AsyncClient, db: asyncpg.Connection, infra: Infrastructure
) -> None:
    # Stored as given, in NFD: lower-casing alone kept it apart from its NFC spelling.
    email = nfd(f"Émile-{secrets.token_hex(4)}@example.com")
    customer = await create(api, email=email)
    new, old = email_key(email), legacy_email_key(email)
    assert new != old

    async def projected() -> bool | None:
        return (
            bool(await db.fetchval("SELECT 1 FROM customers WHERE id = $1", customer["id"])) or None
        )

    await eventually(projected)
    # As a deployment before NFC and case folding left it: the claim under the
    # lower-cased key, the read model's email compared lower-cased.
    await db.execute(
        "UPDATE dapr_state SET key = $2 WHERE key = $1",
        f"customer-service||claim:{new}",
        f"customer-service||claim:{old}",
    )
    await db.execute(
        "UPDATE customers SET email_normalized = lower(email) WHERE id = $1", customer["id"]
    )

    report = await rekey_claims(infra.postgres_dsn)

    assert customer["id"] not in report.collisions
    claims = await db.fetch(
        "SELECT key FROM dapr_state WHERE key = ANY($1::text[])",
        [f"customer-service||claim:{new}", f"customer-service||claim:{old}"],
    )
    assert [row["key"] for row in claims] == [f"customer-service||claim:{new}"]
    composed = unicodedata.normalize("NFC", email.lower())
    duplicate = await api.post(CUSTOMERS, json=customer_body(email=composed))
    assert duplicate.status_code == 409
    page = await api.get(CUSTOMERS, params={"email": composed.upper()})
    assert [c["id"] for c in page.json()["customers"]] == [customer["id"]]
    again = await rekey_claims(infra.postgres_dsn)  # idempotent
    assert customer["id"] not in again.collisions


# -- addresses: every error at once --------------------------------------------------------


ADDRESS = NEW_YORK_ADDRESS


async def test_an_empty_city_and_a_bad_postal_code_are_reported_together(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    url = f"{CUSTOMERS}/{customer['id']}/addresses"
    created = await api.post(url, json={**ADDRESS, "city": "", "postal_code": "ABC"})
    assert created.status_code == 422
    assert problem_fields(created) == {"city", "postal_code"}

    address = (await api.post(url, json=ADDRESS)).json()["address"]
    updated = await api.patch(
        f"{url}/{address['id']}", json={"city": "", "postal_code": "ABC", "label": NUL}
    )
    assert updated.status_code == 422
    assert problem_fields(updated) == {"city", "postal_code", "label"}


# -- finding 7 -----------------------------------------------------------------------------


async def test_password_reset_is_202_even_when_the_actor_call_fails(
    anonymous: httpx.AsyncClient, sidecar: httpx.AsyncClient
) -> None:
    email = unique_email("unreachable")
    # A claim whose holder cannot be called: the actor call fails.
    saved = await sidecar.post(
        "/v1.0/state/customer-store",
        json=[
            {
                "key": f"claim:{email_key(email)}",
                "value": {"customer_id": "no/such", "since": datetime.now(UTC).isoformat()},
            }
        ],
    )
    assert saved.status_code == 204

    response = await anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": email})

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}


SYNTHETIC = 6000


@pytest.fixture
async def many_customers(
    infra: Infrastructure, db: asyncpg.Connection, event_sink: EventSink
) -> AsyncIterator[None]:
    """Enough read-model rows that evaluating a segment takes a while. They exist
    only in the read model: their rows and the events about them go afterwards."""
    await generate(infra.postgres_dsn, SYNTHETIC, seed=int(time.time()))
    yield
    rows = await db.fetch(
        "SELECT id::text AS id FROM customers WHERE registration_source = 'synthetic'"
    )
    await db.execute("DELETE FROM customers WHERE registration_source = 'synthetic'")
    await forget_events(event_sink.app.app_url, [row["id"] for row in rows])


async def test_deleting_a_segment_under_evaluation_answers_at_once_and_stops_it(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink, many_customers: None
) -> None:
    created = await api.post(SEGMENTS, json={"name": "everyone-" + secrets.token_hex(3)})
    assert created.status_code == 201
    segment_id = created.json()["segment"]["id"]

    async def evaluating() -> bool | None:
        count = await db.fetchval(
            "SELECT count(*) FROM segment_members WHERE segment_id = $1", uuid.UUID(segment_id)
        )
        return True if count else None

    await eventually(evaluating, within=30)
    started = time.monotonic()
    deleted = await api.delete(f"{SEGMENTS}/{segment_id}")
    took = time.monotonic() - started

    assert deleted.status_code == 204, deleted.text
    assert took < 3
    assert (await api.get(f"{SEGMENTS}/{segment_id}")).status_code == 404

    async def announced() -> int:
        return sum(
            1
            for e in await event_sink.events()
            if e.get("type") == "customer.segments.changed"
            and segment_id in (e["data"].get("added") or [])
        )

    await asyncio.sleep(2)
    settled = await announced()
    await asyncio.sleep(3)
    assert await announced() == settled < SYNTHETIC
    assert (await api.get(SEGMENTS)).status_code == 200
