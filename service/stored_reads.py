"""Reads of one customer, answered from the committed document without its actor.

The Customer actor is the only writer of a customer's document, and it
replies only after the state transaction that writes it has committed in
Postgres. A read of the state store's row therefore sees every change whose
reply any caller has seen (read-your-writes), at the version and ETag the
actor answered, and needs neither the actor's turn nor the two hops through
the sidecar. The row is read straight from the state store's table (as the
reconciler and the rebuild read it): one indexed point read.

The answer is made by the functions the actor answers with
(actors/customer_reads.py), so every check the actor makes on a read holds
here too: an ended session, an account that may no longer sign in, a deleted
customer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from actors.customer_reads import Refusing, answer
from actors.customer_shell import STORE_DOWN
from actors.protocol import ActorMethod, Refused
from domain.model import Customer
from domain.wishlists import Wishlists
from observability.logging import get_logger
from readmodel.projection import Connection
from readmodel.state_table import stored_value, stored_values

log = get_logger(__name__)

Q = TypeVar("Q")
R = TypeVar("R")
T = TypeVar("T")

_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class StoredCustomers:
    def __init__(
        self,
        database: asyncpg.Pool,
        app_id: str,
        key_prefix: str,
        wait: float = 5.0,
        wishlists_prefix: str = "wishlists",
    ) -> None:
        self._database = database
        # A pool exhausted for longer than this answers 503, not a hung request.
        self._wait = wait
        # The state API keeps an app's keys as "<app id>||<key>".
        self._prefix = f"{app_id}||{key_prefix}:"
        self._wishlists_prefix = f"{app_id}||{wishlists_prefix}:"

    async def load(self, customer_id: str) -> Customer | Refusing | None:
        key = self._prefix + customer_id
        raw = await self._read("a stored customer", lambda conn: stored_value(conn, key))
        if isinstance(raw, Refused):
            return raw
        return None if raw is None else _customer(raw)

    async def load_many(self, customer_ids: list[str]) -> dict[str, Customer] | Refusing:
        """The stored customers among ``customer_ids`` (unknown ones are left out)."""
        keys = [self._prefix + customer_id for customer_id in customer_ids]
        raw = await self._read("stored customers", lambda conn: stored_values(conn, keys))
        if isinstance(raw, Refused):
            return raw
        start = len(self._prefix)
        return {key[start:]: _customer(value) for key, value in raw.items()}

    async def with_wishlists(
        self, customer_id: str
    ) -> tuple[Customer | None, Wishlists] | Refusing:
        """The customer and its wishlists, committed (one indexed read of both)."""
        keys = [self._prefix + customer_id, self._wishlists_prefix + customer_id]
        raw = await self._read("stored wishlists", lambda conn: stored_values(conn, keys))
        if isinstance(raw, Refused):
            return raw
        customer_raw, lists_raw = raw.get(keys[0]), raw.get(keys[1])
        customer = None if customer_raw is None else _customer(customer_raw)
        lists_doc = None if lists_raw is None else json.loads(lists_raw)
        return customer, Wishlists.from_document(customer_id, lists_doc)

    async def _read(self, what: str, read: Callable[[Connection], Awaitable[T]]) -> T | Refusing:
        """``read`` on a pooled connection; the state store unavailable if it fails."""
        try:
            async with self._database.acquire(timeout=self._wait) as conn:
                return await read(conn)
        except _FAILURES as exc:
            log.warning(f"reading {what} failed", error=type(exc).__name__)
            return STORE_DOWN

    async def answer(self, customer_id: str, method: ActorMethod[Q, R], request: Q) -> R | Refusing:
        """What the customer's actor would answer ``method`` (a read) now."""
        customer = await self.load(customer_id)
        if isinstance(customer, Refused):
            return customer
        return answer(method, customer_id, customer, request)


def _customer(raw: bytes) -> Customer:
    return Customer.from_document(json.loads(raw))
