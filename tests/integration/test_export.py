"""The export of everything held about a person, on the real stack: every field
the customer has, from the document, the sessions, the lockouts and the read
model; no secret; the customer or an admin, and an admin for a deleted one."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from service.schemas import ADDRESS_EXAMPLE
from tests.integration.conftest import customer_token
from tests.support.accounts import CUSTOMERS, PASSWORD, Account, login
from tests.support.documents import stored_document
from tests.support.polling import eventually


async def everything_set(
    api: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    order_service: httpx.AsyncClient,
    account: Account,
) -> dict[str, Any]:
    """Every kind of data the service can hold about ``account``; what was shown once."""
    cid, own = account.id, account.headers
    profile = {
        "last_name": "Lovelace",
        "phone": "+14155550123",
        "date_of_birth": "1985-12-10",
        "gender": "FEMALE",
        "metadata": {"loyalty_tier": "gold"},
        "legacy_id": "legacy-" + secrets.token_hex(4),
    }
    assert (await api.patch(f"{CUSTOMERS}/{cid}", json=profile)).status_code == 200
    body = {k: v for k, v in ADDRESS_EXAMPLE.items() if k != "customer_id"}
    added = await anonymous.post(f"{CUSTOMERS}/{cid}/addresses", json=body, headers=own)
    assert added.status_code == 201, added.text
    flags = {"newsletter": True, "sms_marketing": True}
    prefs = await anonymous.patch(f"{CUSTOMERS}/{cid}/preferences", json=flags, headers=own)
    assert prefs.status_code == 200, prefs.text
    order = {"order_id": "o-" + secrets.token_hex(4), "customer_id": cid, "total": "42.00"}
    order["placed_at"] = datetime.now(UTC).isoformat()
    published = await order_service.post("/v1.0/publish/customer-pubsub/order-events", json=order)
    assert published.status_code == 204
    rule = {"field": "total_orders", "operator": "gte", "value": 1, "weight": 1}
    segment = await api.post(
        "/api/v1/segments", json={"name": "buyers-" + secrets.token_hex(3), "rules": [rule]}
    )
    assert segment.status_code == 201, segment.text
    enrolled = await anonymous.post(
        f"{CUSTOMERS}/{cid}/2fa/enable", json={"password": PASSWORD}, headers=own
    )
    assert enrolled.status_code == 201
    await login(anonymous, account.email, "not the password")  # one failure counted

    async def member() -> bool | None:
        page = await api.get(f"/api/v1/segments/{segment.json()['segment']['id']}/customers")
        return True if cid in {c["id"] for c in page.json()["customers"]} else None

    await eventually(member, within=20, what="the segment membership")
    return {
        "profile": profile,
        "address": added.json()["address"],
        "segment_id": segment.json()["segment"]["id"],
        "order_id": order["order_id"],
        "shown_once": [enrolled.json()["secret"], *enrolled.json()["recovery_codes"]],
    }


def secrets_of(document: dict[str, Any]) -> list[str]:
    """Every hash, digest and sealed secret the stored document keeps."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in ("password_hash", "digest", "ciphertext") and isinstance(inner, str):
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str) and len(item) == 64:  # recovery code digests
                    found.append(item)
                walk(item)

    walk(document["internal"]["credentials"])
    return found


async def test_the_export_holds_everything_about_the_person_and_no_secret(
    api: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    order_service: httpx.AsyncClient,
    account: Account,
    db: asyncpg.Connection,
) -> None:
    made = await everything_set(api, anonymous, order_service, account)

    response = await anonymous.get(f"{CUSTOMERS}/{account.id}/export", headers=account.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="customer-{account.id}.json"'
    held = response.json()
    shown = (await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)).json()
    assert held["profile"] == shown["customer"]
    assert {k: held["profile"][k] for k in made["profile"]} == made["profile"]
    assert held["addresses"] == [made["address"]]
    preferences = held["preferences"]
    assert preferences["newsletter"] is preferences["sms_marketing"] is True
    history = {(c["flag"], c["before"], c["after"]) for c in preferences["consent_history"]}
    assert history == {("newsletter", False, True), ("sms_marketing", False, True)}
    assert all(c["source"] and c["at"] for c in preferences["consent_history"])
    assert held["orders"]["total_orders"] == 1
    assert held["orders"]["recorded_order_ids"] == [made["order_id"]]
    assert made["segment_id"] in {s["id"] for s in held["segments"]}
    sign_in = held["sign_in"]
    assert sign_in["two_factor_enrollment_pending"] is True
    assert sign_in["last_login_at"] == shown["customer"]["last_login_at"]
    assert len(sign_in["sessions"]) == 1
    assert sign_in["sessions"][0]["user_agent"].startswith("python-httpx/")
    assert sign_in["lockouts"]["sign_in"]["recent_failures"] == 1
    assert sign_in["lockouts"]["sign_in"]["locked_until"] is None

    document = await stored_document(db, account.id)
    assert document is not None
    digests = [
        row["digest"]
        for row in await db.fetch(
            "SELECT t.digest FROM refresh_tokens t JOIN customer_sessions s ON s.id = t.session_id "
            "WHERE s.customer_id = $1",
            account.id,
        )
    ]
    kept_secret = [
        *secrets_of(document),
        *made["shown_once"],
        *digests,
        account.tokens["access_token"],
        account.tokens["refresh_token"],
        PASSWORD,
    ]
    assert len(kept_secret) > 15  # a hash, a sealed secret, ten codes and their digests, tokens
    text = response.text
    leaked = [secret for secret in kept_secret if secret in text]
    assert leaked == []
    assert "$2b$" not in text
    for word in ("password_hash", "digest", "ciphertext", "session_epoch"):
        assert word not in json.dumps(list(_keys(held)))


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


async def test_only_the_customer_or_an_admin_exports_and_an_admin_a_deleted_one(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, account: Account
) -> None:
    url = f"{CUSTOMERS}/{account.id}/export"
    other = customer_token(str(uuid.uuid4()))
    refused = await anonymous.get(url, headers={"authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert (await anonymous.get(url)).status_code == 401
    assert (await api.get(url)).status_code == 200

    assert (await api.delete(f"{CUSTOMERS}/{account.id}")).status_code == 204
    by_admin = await api.get(url)
    assert by_admin.status_code == 200
    assert by_admin.json()["profile"]["deleted_at"] is not None
    # Soft delete ended the customer's sessions: its token exports nothing.
    assert (await anonymous.get(url, headers=account.headers)).status_code == 401
