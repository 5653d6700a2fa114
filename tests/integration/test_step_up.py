"""Sensitive changes on the real stack need the password again: a new password,
a new email (confirmed by a token sent there), and the old address is told."""

from __future__ import annotations

import httpx

from service.deliveries import open_delivery
from tests.integration.conftest import NOTIFICATION_KEYS, EventSink, customer_body, unique_email
from tests.integration.test_sign_in import event_of
from tests.support.accounts import CUSTOMERS, PASSWORD, Account, bearer, login

NEW_PASSWORD = "a passphrase of my own choosing"


async def change_password(
    anonymous: httpx.AsyncClient, account: Account, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await anonymous.post(
        f"{CUSTOMERS}/{account.id}/password", json=body, headers=account.headers
    )


async def email_change_token(
    anonymous: httpx.AsyncClient, event_sink: EventSink, account: Account, new_email: str
) -> str:
    """Ask for a new email with the password; the token the new address is sent."""
    body = {"new_email": new_email, "password": PASSWORD}
    url = f"{CUSTOMERS}/{account.id}/email-change"
    asked = await anonymous.post(url, json=body, headers=account.headers)
    assert asked.status_code == 202, asked.text
    requested = await event_of(event_sink, account.id, "customer.email_change_requested")
    assert requested["data"]["new_email"] == new_email
    token = open_delivery(NOTIFICATION_KEYS, account.id, requested["data"]["delivery"])
    assert token not in str(requested)
    return token


async def test_a_signed_in_customer_changes_its_password_with_the_current_one(
    anonymous: httpx.AsyncClient, account: Account, event_sink: EventSink
) -> None:
    other = (await login(anonymous, account.email)).json()

    wrong = await change_password(anonymous, account, "not my password")
    assert wrong.status_code == 403
    assert wrong.json()["type"].endswith(":wrong-password")
    weak = await change_password(anonymous, account, PASSWORD, new="short")
    assert weak.status_code == 422
    changed = await change_password(anonymous, account, PASSWORD)
    assert changed.status_code == 204, changed.text

    # Every session ends, this one included; the new password signs in, the old does not.
    for access in (account.tokens["access_token"], other["access_token"]):
        response = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=bearer(access))
        assert response.status_code == 401
    assert (await login(anonymous, account.email)).status_code == 401
    assert (await login(anonymous, account.email, NEW_PASSWORD)).status_code == 200
    # The customer's address is told (no secret in the event).
    event = await event_of(event_sink, account.id, "customer.password_changed")
    assert event["data"]["snapshot"]["email"] == account.email
    assert event["data"]["sessions_ended"] is True
    assert NEW_PASSWORD not in str(event)


async def test_wrong_passwords_lock_the_accounts_sensitive_changes(
    anonymous: httpx.AsyncClient, account: Account
) -> None:
    statuses = [
        (await change_password(anonymous, account, f"guess {n}")).status_code for n in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 423]
    locked = await change_password(anonymous, account, PASSWORD)
    assert locked.status_code == 423
    assert 0 < int(locked.headers["retry-after"]) <= 60
    enable = await anonymous.post(
        f"{CUSTOMERS}/{account.id}/2fa/enable", json={"password": PASSWORD}, headers=account.headers
    )
    assert enable.status_code == 423


async def test_a_customers_token_alone_cannot_change_the_email(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, account: Account
) -> None:
    patched = await anonymous.patch(
        f"{CUSTOMERS}/{account.id}", json={"email": unique_email()}, headers=account.headers
    )
    assert patched.status_code == 403
    assert patched.json()["type"].endswith(":email-change-required")
    assert "email-change" in patched.json()["detail"]
    # An admin still may; the customer's sessions end, the old address is named.
    by_admin = await api.patch(f"{CUSTOMERS}/{account.id}", json={"email": unique_email("ops")})
    assert by_admin.status_code == 200
    after = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    assert after.status_code == 401


async def test_an_email_change_needs_the_password_and_the_token_sent_to_the_new_address(
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    account: Account,
    event_sink: EventSink,
) -> None:
    new_email = unique_email("moved")
    url = f"{CUSTOMERS}/{account.id}/email-change"

    wrong = await anonymous.post(
        url, json={"new_email": new_email, "password": "nope"}, headers=account.headers
    )
    assert wrong.status_code == 403
    token = await email_change_token(anonymous, event_sink, account, new_email)
    # Nothing changes yet.
    unchanged = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    assert unchanged.json()["customer"]["email"] == account.email

    confirmed = await anonymous.post(f"{CUSTOMERS}/email-change/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    customer = confirmed.json()["customer"]
    assert (customer["email"], customer["email_verified"]) == (new_email, True)
    again = await anonymous.post(f"{CUSTOMERS}/email-change/confirm", json={"token": token})
    assert again.status_code == 400

    # The old address is told; every session ended; the new address signs in.
    changed = await event_of(event_sink, account.id, "customer.email_changed")
    assert changed["data"]["previous_email"] == account.email
    assert changed["data"]["sessions_ended"] is True
    stale = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    assert stale.status_code == 401
    assert (await login(anonymous, new_email)).status_code == 200
    assert (await login(anonymous, account.email)).status_code == 401
    # The old address is free again, the new one is not.
    assert (await api.post(CUSTOMERS, json=customer_body(email=account.email))).status_code == 201
    assert (await api.post(CUSTOMERS, json=customer_body(email=new_email))).status_code == 409


async def test_an_email_taken_meanwhile_is_refused_at_confirmation(
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    account: Account,
    event_sink: EventSink,
) -> None:
    new_email = unique_email("contested")
    token = await email_change_token(anonymous, event_sink, account, new_email)
    assert (await api.post(CUSTOMERS, json=customer_body(email=new_email))).status_code == 201

    taken = await anonymous.post(f"{CUSTOMERS}/email-change/confirm", json={"token": token})

    assert taken.status_code == 409
    assert taken.json()["type"].endswith(":email-taken")
    kept = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    assert kept.json()["customer"]["email"] == account.email
