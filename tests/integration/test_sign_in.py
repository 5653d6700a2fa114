"""Sign-in on the real stack: registration, tokens for the notification
service, login and lockout, two-factor authentication, authorization on every
route, and no secret in any reply, log line or event."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pyotp

from devstack.stack import App
from security.access_tokens import TokenIssuer
from service.deliveries import open_delivery
from tests.integration.conftest import (
    JWT_SECRET,
    NOTIFICATION_KEYS,
    EventSink,
    customer_token,
    unique_email,
)
from tests.support.accounts import (
    CUSTOMERS,
    PASSWORD,
    bearer,
    login,
    register,
    sign_up,
    stored_holder,
)
from tests.support.credentials import ISSUER
from tests.support.documents import stored_document
from tests.support.polling import eventually


async def event_of(sink: EventSink, customer_id: str, event_type: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        events: list[dict[str, Any]] = await sink.for_subject(customer_id)
        for event in reversed(events):
            if event["type"] == event_type:
                return dict(event)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event_type} event for {customer_id}")


async def test_register_verify_email_and_sign_in(
    anonymous: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    email = unique_email("signup")
    registered = await register(anonymous, email)
    assert registered.status_code == 202, registered.text
    assert registered.json() == {"status": "accepted"}

    async def holder() -> str | None:
        return await stored_holder(db, email)

    customer_id = await eventually(holder)
    # The notification service opens the sealed token from the event.
    event = await event_of(event_sink, customer_id, "customer.registered")
    customer = event["data"]["snapshot"]
    assert customer["status"] == "PENDING_VERIFICATION"
    assert customer["email_verified"] is False
    token = open_delivery(NOTIFICATION_KEYS, customer_id, event["data"]["delivery"])
    confirmed = await anonymous.post(
        f"{CUSTOMERS}/email-verification/confirm", json={"token": token}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["customer"]["email_verified"] is True
    assert confirmed.json()["customer"]["status"] == "ACTIVE"
    reused = await anonymous.post(f"{CUSTOMERS}/email-verification/confirm", json={"token": token})
    assert reused.status_code == 400

    signed_in = await login(anonymous, email.upper())
    assert signed_in.status_code == 200, signed_in.text
    access = signed_in.json()["access_token"]
    assert signed_in.json()["refresh_token"]
    mine = await anonymous.get(f"{CUSTOMERS}/{customer_id}", headers=bearer(access))
    assert mine.status_code == 200
    assert mine.json()["customer"]["last_login_at"] is not None
    await event_of(event_sink, customer_id, "customer.logged_in")


async def test_a_short_or_overlong_password_is_refused_at_registration(
    anonymous: httpx.AsyncClient,
) -> None:
    for password in ("short", "é" * 37):  # 7 characters; 74 bytes
        body = {"email": unique_email(), "password": password}
        response = await anonymous.post(f"{CUSTOMERS}/register", json=body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["password"]
        assert password not in response.text


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    account = await sign_up(anonymous, db)
    unknown = await login(anonymous, unique_email("nobody"))
    wrong = await login(anonymous, account.email, "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_five_failures_lock_the_account_whatever_the_password(
    anonymous: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    # The shared stack locks for CUSTOMER_LOCKOUT_MINUTES=1 (production: 15).
    account = await sign_up(anonymous, db)
    statuses = [(await login(anonymous, account.email, "wrong")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = await login(anonymous, account.email)
    assert locked.status_code == 423
    assert 0 < int(locked.headers["retry-after"]) <= 60
    still = await login(anonymous, account.email, "wrong")
    assert still.json() == locked.json() | {"detail": still.json()["detail"]}
    event = await event_of(event_sink, account.id, "customer.locked")
    assert event["data"]["locked_until"]


async def test_two_factor_enrollment_login_recovery_and_disable(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    account = await sign_up(anonymous, db)
    own = account.headers
    url = f"{CUSTOMERS}/{account.id}/2fa"

    # The password again, or no enrollment.
    without = await anonymous.post(f"{url}/enable", json={"password": "not it"}, headers=own)
    assert without.status_code == 403
    assert without.json()["type"].endswith(":wrong-password")
    enrolled = await anonymous.post(f"{url}/enable", json={"password": PASSWORD}, headers=own)
    assert enrolled.status_code == 201
    secret = enrolled.json()["secret"]
    recovery = enrolled.json()["recovery_codes"]
    assert len(recovery) == 10
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(secret)
    # Not enforced until confirmed: a password still signs in.
    assert "access_token" in (await login(anonymous, account.email)).json()
    wrong = await anonymous.post(f"{url}/verify", json={"code": "000000"}, headers=own)
    assert wrong.status_code == 422
    now = datetime.now(UTC)
    confirmed = await anonymous.post(f"{url}/verify", json={"code": totp.at(now)}, headers=own)
    assert confirmed.status_code == 200, confirmed.text
    # 2FA on ends every session: sign in again, with a code.
    assert (await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=own)).status_code == 401

    challenged = await login(anonymous, account.email)
    assert challenged.status_code == 200
    challenge = challenged.json()["challenge"]
    assert "access_token" not in challenged.json()
    # The code confirmed at enrollment was used: its step is spent.
    replay = {"challenge": challenge, "code": totp.at(now)}
    assert (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=replay)).status_code == 401
    next_step = {"challenge": challenge, "code": totp.at(now + timedelta(seconds=30))}
    done = await anonymous.post(f"{CUSTOMERS}/login/2fa", json=next_step)
    assert done.status_code == 200, done.text
    assert done.json()["customer_id"] == account.id
    assert done.json()["refresh_token"]

    # A recovery code works once.
    first = (await login(anonymous, account.email)).json()["challenge"]
    with_code = {"challenge": first, "recovery_code": recovery[0].upper()}
    assert (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=with_code)).status_code == 200
    second = (await login(anonymous, account.email)).json()["challenge"]
    again = {"challenge": second, "recovery_code": recovery[0]}
    assert (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=again)).status_code == 401

    signed_in = bearer(done.json()["access_token"])
    off_body = {"recovery_code": recovery[1], "password": PASSWORD}
    wrong_password = {**off_body, "password": "not it"}
    refused = await anonymous.post(f"{url}/disable", json=wrong_password, headers=signed_in)
    assert refused.status_code == 403
    off = await anonymous.post(f"{url}/disable", json=off_body, headers=signed_in)
    assert off.status_code == 200, off.text
    assert "access_token" in (await login(anonymous, account.email)).json()
    assert (await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=signed_in)).status_code == 401


async def test_password_reset_replaces_the_password_once(
    anonymous: httpx.AsyncClient, event_sink: EventSink, db: asyncpg.Connection
) -> None:
    account = await sign_up(anonymous, db)
    unknown = await anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": unique_email()})
    known = await anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": account.email})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()

    event = await event_of(event_sink, account.id, "customer.password_reset_requested")
    token = open_delivery(NOTIFICATION_KEYS, account.id, event["data"]["delivery"])
    body = {"token": token, "new_password": "a brand new passphrase"}
    assert (
        await anonymous.post(f"{CUSTOMERS}/password-reset/confirm", json=body)
    ).status_code == 204
    assert (
        await anonymous.post(f"{CUSTOMERS}/password-reset/confirm", json=body)
    ).status_code == 400
    assert (await login(anonymous, account.email)).status_code == 401
    assert (await login(anonymous, account.email, "a brand new passphrase")).status_code == 200
    changed = await event_of(event_sink, account.id, "customer.password_changed")
    assert changed["data"]["sessions_ended"] is True
    # The session signed in before the reset is over.
    assert (
        await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    ).status_code == 401


def protected(customer_id: str, address_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"{CUSTOMERS}/{customer_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"first_name": "X"}),
        ("DELETE", base, None),
        ("POST", f"{base}/restore", None),
        ("GET", f"{base}/addresses", None),
        (
            "POST",
            f"{base}/addresses",
            {"address_line_1": "1 A St", "city": "B", "country_code": "US"},
        ),
        ("GET", f"{base}/addresses/{address_id}", None),
        ("PATCH", f"{base}/addresses/{address_id}", {"city": "C"}),
        ("DELETE", f"{base}/addresses/{address_id}", None),
        ("POST", f"{base}/addresses/{address_id}/set-default", None),
        ("GET", f"{base}/preferences", None),
        ("PATCH", f"{base}/preferences", {"newsletter": True}),
        ("POST", f"{base}/2fa/enable", None),
        ("POST", f"{base}/2fa/verify", {"code": "123456"}),
        ("POST", f"{base}/2fa/disable", {"code": "123456", "password": "x"}),
        ("POST", f"{base}/email-verification", None),
        ("POST", f"{base}/password", {"current_password": "x", "new_password": "y" * 12}),
        ("POST", f"{base}/email-change", {"new_email": unique_email(), "password": "x"}),
        ("GET", f"{base}/sessions", None),
        ("POST", f"{base}/sessions/revoke", None),
    ]


async def test_every_protected_route_refuses_bad_credentials(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    victim = (await sign_up(anonymous, db)).customer
    intruder = (await sign_up(anonymous, db)).customer
    expired = TokenIssuer(JWT_SECRET, ISSUER.issuer, ISSUER.audience, timedelta(minutes=-5))
    forged = TokenIssuer("x" * 40, ISSUER.issuer, ISSUER.audience, ISSUER.lifetime)
    foreign = TokenIssuer(JWT_SECRET, ISSUER.issuer, "another-audience", ISSUER.lifetime)
    now = datetime.now(UTC)
    credentials = {
        "missing": ({}, 401),
        "not bearer": ({"authorization": "Basic dXNlcjpwYXNz"}, 401),
        "expired": (bearer(expired.issue(victim["id"], ["customer"], now)), 401),
        "badly signed": (bearer(forged.issue(victim["id"], ["admin"], now)), 401),
        "other audience": (bearer(foreign.issue(victim["id"], ["customer"], now)), 401),
        "garbage": (bearer("not.a.jwt"), 401),
        # A customer's token names its session; one that does not is no token of ours.
        "no session": (bearer(ISSUER.issue(victim["id"], ["customer"], now)), 401),
        "other customer": (bearer(customer_token(intruder["id"])), 403),
    }
    address_id = str(uuid.uuid4())
    routes = protected(victim["id"], address_id)
    routes += [
        ("POST", CUSTOMERS, {"email": unique_email()}),
        ("GET", f"{CUSTOMERS}/by-legacy-id/L-1", None),
    ]
    for name, (headers, expected) in credentials.items():
        for method, path, body in routes:
            response = await anonymous.request(method, path, json=body, headers=headers)
            assert response.status_code == expected, (name, method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            if expected == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
    # A customer cannot reach the admin routes with its own token either...
    own = bearer(customer_token(victim["id"]))
    assert (
        await anonymous.post(CUSTOMERS, json={"email": unique_email()}, headers=own)
    ).status_code == 403
    # ... nor change what only an admin may.
    suspended = await anonymous.patch(
        f"{CUSTOMERS}/{victim['id']}", json={"status": "ACTIVE"}, headers=own
    )
    assert suspended.status_code == 403
    assert (
        await anonymous.patch(
            f"{CUSTOMERS}/{victim['id']}", json={"first_name": "Own"}, headers=own
        )
    ).status_code == 200
    unchanged = await api.get(f"{CUSTOMERS}/{victim['id']}")
    assert unchanged.json()["customer"]["first_name"] == "Own"


async def test_every_reply_carries_the_security_headers(anonymous: httpx.AsyncClient) -> None:
    for response in (
        await anonymous.get("/api/v1/customers/health"),
        await anonymous.get(f"{CUSTOMERS}/{uuid.uuid4()}"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-xss-protection"] == "1; mode=block"
        assert response.headers["content-security-policy"] == "default-src 'self'"
        assert response.headers["strict-transport-security"] == "max-age=31536000"


NEW_PASSWORD = "another horse, another battery"


async def test_no_secret_reaches_a_reply_a_log_line_or_an_event(
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    event_sink: EventSink,
    customer_service: App,
) -> None:
    account = await sign_up(anonymous, db)
    cid, base = account.id, f"{CUSTOMERS}/{account.id}"
    refreshed = await anonymous.post(
        f"{CUSTOMERS}/token/refresh", json={"refresh_token": account.tokens["refresh_token"]}
    )
    secrets_seen: list[str] = [PASSWORD, NEW_PASSWORD, account.tokens["refresh_token"]]
    secrets_seen.append(refreshed.json()["refresh_token"])
    replies: list[str] = [refreshed.text.replace(refreshed.json()["refresh_token"], "")]

    # Two-factor authentication, with the password (step-up).
    step_up = {"password": PASSWORD}
    enrolled = await anonymous.post(f"{base}/2fa/enable", json=step_up, headers=account.headers)
    secret = enrolled.json()["secret"]
    recovery = enrolled.json()["recovery_codes"]
    secrets_seen += [secret, *recovery]
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    verify = {"code": totp.at(now)}
    replies.append(
        (await anonymous.post(f"{base}/2fa/verify", json=verify, headers=account.headers)).text
    )
    challenge = (await login(anonymous, account.email)).json()["challenge"]
    code = {"challenge": challenge, "code": totp.at(now + timedelta(seconds=30))}
    signed_in = (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=code)).json()
    secrets_seen += [challenge, signed_in["refresh_token"]]
    replies.append((await login(anonymous, account.email, "a wrong password")).text)

    # A new password, then a new email: each with the password, each ends the sessions.
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = await anonymous.post(
        f"{base}/password", json=change, headers=bearer(signed_in["access_token"])
    )
    assert changed.status_code == 204, changed.text
    challenge = (await login(anonymous, account.email, NEW_PASSWORD)).json()["challenge"]
    with_code = {"challenge": challenge, "recovery_code": recovery[0]}
    again = (await anonymous.post(f"{CUSTOMERS}/login/2fa", json=with_code)).json()
    secrets_seen += [challenge, again["refresh_token"]]
    new_email = unique_email("moved")
    moving = {"new_email": new_email, "password": NEW_PASSWORD}
    replies.append(
        (
            await anonymous.post(
                f"{base}/email-change", json=moving, headers=bearer(again["access_token"])
            )
        ).text
    )
    requested = await event_of(event_sink, cid, "customer.email_change_requested")
    change_token = open_delivery(NOTIFICATION_KEYS, cid, requested["data"]["delivery"])
    secrets_seen.append(change_token)
    confirmed = await anonymous.post(
        f"{CUSTOMERS}/email-change/confirm", json={"token": change_token}
    )
    assert confirmed.status_code == 200, confirmed.text
    replies.append(confirmed.text)

    await anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": new_email})
    reset = await event_of(event_sink, cid, "customer.password_reset_requested")
    registered = await event_of(event_sink, cid, "customer.registered")
    for event in (reset, registered):
        secrets_seen.append(open_delivery(NOTIFICATION_KEYS, cid, event["data"]["delivery"]))
    pending = await login(anonymous, new_email, NEW_PASSWORD)
    secrets_seen.append(pending.json()["challenge"])
    stored = await stored_document(db, cid)
    assert stored is not None
    credentials = stored["internal"]["credentials"]
    secrets_seen += [
        credentials["password_hash"],
        credentials["totp"]["secret"]["ciphertext"],
        credentials["challenge"]["digest"],
        credentials["password_reset"]["digest"],
        *credentials["totp"]["recovery_digests"],
    ]
    secrets_seen += await refresh_digests(db, cid)
    replies += [
        (await api.get(base)).text,
        (await api.get(f"{base}/sessions")).text,
        pending.text.replace(pending.json()["challenge"], ""),
    ]
    await asyncio.sleep(2)  # let the outbox and the log writer catch up
    events = str(await event_sink.for_subject(cid))
    logs = await asyncio.to_thread(Path(customer_service.app.log_path).read_text)
    sidecar_logs = await asyncio.to_thread(Path(customer_service.sidecar.log_path).read_text)
    for value in secrets_seen:
        assert value not in events
        assert value not in logs
        assert value not in sidecar_logs
        for reply in replies:
            assert value not in reply


async def refresh_digests(db: asyncpg.Connection, customer_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT t.digest FROM refresh_tokens t JOIN customer_sessions s ON s.id = t.session_id "
        "WHERE s.customer_id = $1",
        uuid.UUID(customer_id),
    )
    assert len(rows) >= 4
    return [row["digest"] for row in rows]
