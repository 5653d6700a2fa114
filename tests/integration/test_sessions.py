"""Sessions on the real stack: refresh tokens that rotate, logout, revocation,
the list of a customer's sessions, and access that follows the account (a
suspension, a soft delete or a password change ends every session at once)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from accounts import janitor
from devstack.stack import App, Infrastructure
from security.one_time import digest
from tests.integration.conftest import EventSink
from tests.integration.test_sign_in import event_of, protected
from tests.support.accounts import CUSTOMERS, PASSWORD, Account, bearer, login
from tests.support.stacks import REFRESH_GRACE_SECONDS

REFRESH = f"{CUSTOMERS}/token/refresh"


async def refreshed(anonymous: httpx.AsyncClient, token: str) -> httpx.Response:
    return await anonymous.post(REFRESH, json={"refresh_token": token})


async def reads(anonymous: httpx.AsyncClient, account: Account, access: str) -> int:
    response = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=bearer(access))
    return response.status_code


async def assert_over(
    anonymous: httpx.AsyncClient, account: Account, *sessions: dict[str, Any]
) -> None:
    """Each session's access token and refresh token are refused."""
    for tokens in sessions:
        assert await reads(anonymous, account, tokens["access_token"]) == 401
        assert (await refreshed(anonymous, tokens["refresh_token"])).status_code == 401


async def test_a_refresh_returns_a_new_pair_and_the_used_token_is_spent(
    anonymous: httpx.AsyncClient, account: Account, db: asyncpg.Connection
) -> None:
    first = account.tokens["refresh_token"]

    renewed = await refreshed(anonymous, first)

    assert renewed.status_code == 200, renewed.text
    pair = renewed.json()
    assert set(pair) == {
        "access_token", "token_type", "expires_in", "customer_id", "refresh_token",
        "refresh_expires_in",
    }  # fmt: skip
    assert pair["refresh_token"] != first
    assert pair["refresh_expires_in"] == 30 * 24 * 3600
    assert await reads(anonymous, account, pair["access_token"]) == 200
    # Stored only as a digest.
    tokens = [first, pair["refresh_token"]]
    stored = "SELECT count(*) FROM refresh_tokens WHERE digest = ANY($1::text[])"
    assert await db.fetchval(stored, tokens) == 0
    assert await db.fetchval(stored, [digest(token) for token in tokens]) == 2
    # A refresh is not a change of the customer: no new version, no event.
    customer = (
        await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=bearer(pair["access_token"]))
    ).json()
    assert customer["customer"]["version"] == account.customer["version"]


async def test_a_reused_refresh_token_is_refused_and_ends_its_whole_family(
    anonymous: httpx.AsyncClient, account: Account
) -> None:
    other = await login(anonymous, account.email)  # another session of the same customer
    first = account.tokens["refresh_token"]
    second = (await refreshed(anonymous, first)).json()
    # Two refreshes of one client may cross: within the grace the spent one is taken once more.
    crossing = await refreshed(anonymous, first)
    assert crossing.status_code == 200, crossing.text
    await asyncio.sleep(REFRESH_GRACE_SECONDS + 1)

    reused = await refreshed(anonymous, first)

    assert reused.status_code == 401
    assert reused.json()["type"].endswith(":invalid-refresh-token")
    assert reused.headers["www-authenticate"].startswith("Bearer")
    # The whole family is over: every access and refresh token of that session.
    await assert_over(anonymous, account, account.tokens, second, crossing.json())
    # The customer's other session goes on.
    assert await reads(anonymous, account, other.json()["access_token"]) == 200
    assert (await refreshed(anonymous, other.json()["refresh_token"])).status_code == 200


async def test_logout_ends_that_session_and_no_other(
    anonymous: httpx.AsyncClient, account: Account
) -> None:
    other = (await login(anonymous, account.email)).json()

    out = await anonymous.post(f"{CUSTOMERS}/logout", headers=account.headers)

    assert out.status_code == 204
    # At once on this replica: the very next request.
    refused = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith(":session-ended")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert (await refreshed(anonymous, account.tokens["refresh_token"])).status_code == 401
    assert await reads(anonymous, account, other["access_token"]) == 200


async def test_revoking_ends_every_session_of_the_customer(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, account: Account
) -> None:
    sessions = [account.tokens, *[(await login(anonymous, account.email)).json() for _ in range(2)]]

    revoked = await anonymous.post(
        f"{CUSTOMERS}/{account.id}/sessions/revoke", headers=account.headers
    )

    assert revoked.status_code == 204
    await assert_over(anonymous, account, *sessions)
    # An admin may revoke them too (a new login meanwhile included).
    again = (await login(anonymous, account.email)).json()
    assert (await api.post(f"{CUSTOMERS}/{account.id}/sessions/revoke")).status_code == 204
    assert await reads(anonymous, account, again["access_token"]) == 401


async def test_the_list_of_sessions_shows_when_and_where_and_no_secret(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, account: Account
) -> None:
    phone = (await login(anonymous, account.email, **{"user-agent": "ShopApp/7.1 (iPhone)"})).json()
    await refreshed(anonymous, phone["refresh_token"])
    await anonymous.post(f"{CUSTOMERS}/logout", headers=bearer(phone["access_token"]))
    tablet = (await login(anonymous, account.email, **{"user-agent": "ShopApp/7.1 (iPad)"})).json()
    renewed = (await refreshed(anonymous, tablet["refresh_token"])).json()
    await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=account.headers)

    listed = await anonymous.get(
        f"{CUSTOMERS}/{account.id}/sessions", headers=bearer(renewed["access_token"])
    )

    assert listed.status_code == 200, listed.text
    sessions = listed.json()["sessions"]  # newest first; the phone's ended
    assert sessions[0]["user_agent"] == "ShopApp/7.1 (iPad)"
    assert sessions[1]["user_agent"].startswith("python-httpx/")
    assert [s["current"] for s in sessions] == [True, False]
    assert set(sessions[0]) == {"id", "created_at", "last_used_at", "user_agent", "current"}
    # "Last used" moves with a refresh, and with nothing else.
    assert sessions[0]["last_used_at"] > sessions[0]["created_at"]
    assert sessions[1]["last_used_at"] == sessions[1]["created_at"]
    secrets = [*tablet.values(), *renewed.values(), *account.tokens.values()]
    for token in (value for value in secrets if isinstance(value, str) and len(value) > 40):
        assert token not in listed.text
    # An admin sees them too; another customer does not.
    assert (await api.get(f"{CUSTOMERS}/{account.id}/sessions")).status_code == 200


async def test_a_suspended_customers_old_token_is_refused_on_every_route(
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    account: Account,
    db: asyncpg.Connection,
    event_sink: EventSink,
) -> None:
    own = account.headers
    address = await anonymous.post(
        f"{CUSTOMERS}/{account.id}/addresses",
        json={"address_line_1": "1 Main St", "city": "Boston", "state_province": "MA",
              "postal_code": "02110", "country_code": "US"},
        headers=own,
    )  # fmt: skip
    assert address.status_code == 201, address.text

    suspended = await api.patch(f"{CUSTOMERS}/{account.id}", json={"status": "SUSPENDED"})
    assert suspended.status_code == 200

    # Immediately: GET, PATCH, add-address and every other route of the customer.
    # Its sessions ended with the suspension: 401, whichever process answers
    # (from its ended sessions in memory, or from the document's epoch).
    get = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=own)
    assert get.status_code == 401, get.text
    assert get.json()["type"].endswith(":session-ended")
    patch = await anonymous.patch(
        f"{CUSTOMERS}/{account.id}", json={"first_name": "X"}, headers=own
    )
    assert patch.status_code == 401
    routes = protected(account.id, address.json()["address"]["id"])
    for method, path, body in routes:
        response = await anonymous.request(method, path, json=body, headers=own)
        assert response.status_code in (401, 403), (method, path, response.text)
    assert (await refreshed(anonymous, account.tokens["refresh_token"])).status_code == 401
    disabled = await login(anonymous, account.email)
    assert disabled.status_code == 403
    assert disabled.json()["type"].endswith(":account-disabled")
    event = await event_of(event_sink, account.id, "customer.updated")
    assert event["data"]["sessions_ended"] is True
    ended = await db.fetchval(
        "SELECT count(*) FROM customer_sessions WHERE customer_id = $1 AND ended_at IS NULL",
        uuid.UUID(account.id),
    )
    assert ended == 0

    # Reactivated: the old session stays over; a new login works.
    assert (
        await api.patch(f"{CUSTOMERS}/{account.id}", json={"status": "ACTIVE"})
    ).status_code == 200
    over = await anonymous.get(f"{CUSTOMERS}/{account.id}", headers=own)
    assert over.status_code == 401
    assert over.json()["type"].endswith(":session-ended")
    fresh = (await login(anonymous, account.email)).json()
    assert await reads(anonymous, account, fresh["access_token"]) == 200


async def test_a_soft_delete_ends_every_session(
    anonymous: httpx.AsyncClient, account: Account
) -> None:
    other = (await login(anonymous, account.email)).json()

    deleted = await anonymous.delete(f"{CUSTOMERS}/{account.id}", headers=account.headers)

    assert deleted.status_code == 204
    await assert_over(anonymous, account, account.tokens, other)


async def test_an_admins_token_belongs_to_no_session(api: httpx.AsyncClient) -> None:
    """Admin tokens come from the platform's auth service: logout ends nothing."""
    assert (await api.post(f"{CUSTOMERS}/logout")).status_code == 204
    assert (await api.get(CUSTOMERS, params={"limit": 1})).status_code == 200


async def test_a_refresh_token_in_the_wrong_place_or_shape_is_refused(
    anonymous: httpx.AsyncClient,
) -> None:
    for token in (f"{uuid.uuid4()}.{'x' * 43}", "not-a-refresh-token", PASSWORD):
        response = await refreshed(anonymous, token)
        assert response.status_code == 401, response.text


async def test_what_expired_is_deleted_and_nothing_else(
    db: asyncpg.Connection, infra: Infrastructure, customer_service: App
) -> None:
    """Bounded storage: the worker's janitor deletes counters past their window,
    expired refresh tokens and sessions ended (or expired) longer ago than
    any access token lives."""
    old, fresh = uuid.uuid4(), uuid.uuid4()
    for session, ago in ((old, timedelta(days=2)), (fresh, timedelta(0))):
        await db.execute(
            "INSERT INTO customer_sessions (id, customer_id, epoch, created_at, last_used_at, "
            "expires_at, ended_at) VALUES ($1, $2, 0, now(), now(), now(), now() - $3::interval)",
            session,
            uuid.uuid4(),
            ago,
        )
    keys = [f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"]
    await db.execute(
        "INSERT INTO throttles (key, hits, resets_at) VALUES "
        "($1, 1, now() - interval '1 second'), ($2, 1, now() + interval '1 hour')",
        *keys,
    )
    pool = await asyncpg.create_pool(infra.postgres_dsn, min_size=1, max_size=1)
    try:
        assert await janitor.sweep(pool) >= 2
    finally:
        await pool.close()

    sessions = await db.fetch(
        "SELECT id FROM customer_sessions WHERE id = ANY($1::uuid[])", [old, fresh]
    )
    assert [row["id"] for row in sessions] == [fresh]
    counters = await db.fetch("SELECT key FROM throttles WHERE key = ANY($1::text[])", keys)
    assert [row["key"] for row in counters] == [keys[1]]
