"""Customers signing up and in, as a front end does it on the real stack.

Registration answers 202 before the customer exists (whether or not the email
was free): the customer is found by its email's claim once its document is
stored, then signs in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
import httpx

from domain.unique_keys import email_key
from tests.support.documents import stored_document
from tests.support.polling import eventually
from tests.support.values import unique_email

CUSTOMERS = "/api/v1/customers"
PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclasses.dataclass
class Account:
    customer: dict[str, Any]
    tokens: dict[str, Any]
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return str(self.customer["id"])

    @property
    def email(self) -> str:
        return str(self.customer["email"])

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.tokens["access_token"])


async def stored_holder(db: asyncpg.Connection, email: str) -> str | None:
    """The customer whose document holds ``email`` (by its claim), once stored."""
    holder = await db.fetchval(
        "SELECT convert_from(value, 'UTF8')::jsonb ->> 'customer_id' FROM dapr_state "
        "WHERE key = $1",
        f"customer-service||claim:{email_key(email)}",
    )
    if holder is None or await stored_document(db, holder) is None:
        return None
    return str(holder)


async def register(
    anonymous: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> httpx.Response:
    body = {"email": email or unique_email("signup"), "password": password, "first_name": "Ann"}
    return await anonymous.post(f"{CUSTOMERS}/register", json=body)


async def login(
    anonymous: httpx.AsyncClient, email: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    body = {"email": email, "password": password}
    return await anonymous.post(f"{CUSTOMERS}/login", json=body, headers=headers)


async def sign_up(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection, email: str | None = None
) -> Account:
    """Register, wait until the customer is stored, sign in, read its profile."""
    email = email or unique_email("signup")
    registered = await register(anonymous, email)
    assert registered.status_code == 202, registered.text

    async def stored() -> str | None:
        return await stored_holder(db, email)

    await eventually(stored, what=f"the registration of {email}")
    signed_in = await login(anonymous, email)
    assert signed_in.status_code == 200, signed_in.text
    tokens: dict[str, Any] = signed_in.json()
    profile = await anonymous.get(
        f"{CUSTOMERS}/{tokens['customer_id']}", headers=bearer(tokens["access_token"])
    )
    assert profile.status_code == 200, profile.text
    return Account(profile.json()["customer"], tokens)
