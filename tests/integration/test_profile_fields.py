"""The profile's locale, and a BUSINESS customer's company name and VAT id."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.integration.conftest import EventSink, customer_body
from tests.support.documents import stored_customers_with, stored_document
from tests.support.polling import eventually

CUSTOMERS = "/api/v1/customers"


def problem_fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["code"] for e in response.json()["errors"]}


async def test_a_business_keeps_its_company_vat_id_and_locale_everywhere(
    api: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    body = customer_body(
        customer_type="BUSINESS",
        company_name="Acme GmbH",
        vat_id="de 136 695 976",
        locale="de-de",
    )
    created = await api.post(CUSTOMERS, json=body)
    assert created.status_code == 201, created.text
    customer = created.json()["customer"]
    cid = customer["id"]
    shown = (customer["company_name"], customer["vat_id"], customer["locale"])
    assert shown == ("Acme GmbH", "DE136695976", "de-DE")
    stored = await stored_document(db, cid)
    assert stored is not None
    assert (stored["company_name"], stored["vat_id"], stored["locale"]) == shown

    patched = await api.patch(f"{CUSTOMERS}/{cid}", json={"locale": "fr", "vat_id": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["customer"]["locale"], patched.json()["customer"]["vat_id"]) == (
        "fr",
        None,
    )

    async def updated() -> dict[str, Any] | None:
        events = await event_sink.for_subject(cid)
        found = [e["data"] for e in events if e["type"] == "customer.updated"]
        return found[0] if found else None

    event = await eventually(updated, what="the customer.updated event")
    assert event["changes"]["locale"] == {"before": "de-DE", "after": "fr"}
    assert event["changes"]["vat_id"] == {"before": "DE136695976", "after": None}
    assert event["snapshot"]["company_name"] == "Acme GmbH"

    async def projected() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await db.fetchrow(
            "SELECT locale, company_name, vat_id FROM customers WHERE id = $1::uuid "
            "AND version = 2",
            cid,
        )
        return row

    row = await eventually(projected, what="the read model at version 2")
    assert tuple(row) == ("fr", "Acme GmbH", None)


async def test_bad_profile_values_are_every_one_a_field_error_and_nothing_is_stored(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = customer_body(customer_type="BUSINESS", vat_id="DE136695977", locale="en_US")
    assert problem_fields(await api.post(CUSTOMERS, json=body)) == {
        "vat_id": "value_error",
        "locale": "value_error",
    }
    assert await stored_customers_with(db, body["email"]) == []

    individual = customer_body(company_name="Acme", vat_id="GB980780684")
    assert problem_fields(await api.post(CUSTOMERS, json=individual)) == {
        "company_name": "business_only",
        "vat_id": "business_only",
    }
    assert await stored_customers_with(db, individual["email"]) == []

    business = await api.post(CUSTOMERS, json=customer_body(customer_type="BUSINESS"))
    cid = business.json()["customer"]["id"]
    assert (await api.patch(f"{CUSTOMERS}/{cid}", json={"company_name": "Acme"})).status_code == 200
    demoted = await api.patch(f"{CUSTOMERS}/{cid}", json={"customer_type": "INDIVIDUAL"})
    assert problem_fields(demoted) == {"company_name": "business_only"}
    for bad in ({"locale": "klingon-speak"}, {"locale": ""}, {"vat_id": "12"}):
        assert set(problem_fields(await api.patch(f"{CUSTOMERS}/{cid}", json=bad))) == set(bad)
    stored = await stored_document(db, cid)
    assert stored is not None
    assert (stored["version"], stored["customer_type"], stored["locale"]) == (2, "BUSINESS", None)
