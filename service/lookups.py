"""Look-ups for calling services: many customers by id, customers by phone, the
segments of a customer.

Customers by id are answered from their committed documents, like
``GET /api/v1/customers/{id}`` (service/stored_reads.py): one indexed read of
the state store's table for the whole batch, the same view and the same
visibility rules, and every write whose answer the caller has seen (the read
model would lag about a second, and a caller that just created a customer
would miss it). A phone is found in the read model (the state store cannot be
searched by a field), and the customers it names are then read from their
documents, keeping only those whose committed phone is still that one.
Memberships of segments live only in the read model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from actors.customer_reads import visible
from actors.protocol import Refused
from domain.model import timestamp
from domain.sessions import Access
from readmodel.queries import ids_with_phone, memberships
from service.actor_replies import refusal_problem
from service.stored_reads import StoredCustomers


class Lookups:
    def __init__(self, stored: StoredCustomers, database: asyncpg.Pool) -> None:
        self._stored = stored
        self._database = database

    async def by_ids(self, customer_ids: list[str], include_deleted: bool) -> list[dict[str, Any]]:
        """Each known, visible customer of ``customer_ids``, in their order."""
        loaded = await self._stored.load_many(customer_ids)
        if isinstance(loaded, Refused):
            raise refusal_problem(loaded)
        shown = []
        for customer_id in customer_ids:
            seen = visible(customer_id, loaded.get(customer_id), include_deleted, None)
            if not isinstance(seen, Refused):
                shown.append(seen.view())
        return shown

    async def by_phone(self, phone: str, include_deleted: bool) -> list[dict[str, Any]]:
        """The customers whose committed phone is ``phone`` (E.164), oldest first."""
        async with self._database.acquire() as conn:
            found = await ids_with_phone(conn, phone, include_deleted)
        return [c for c in await self.by_ids(found, include_deleted) if c["phone"] == phone]

    async def segments(self, customer_id: str, access: Access | None) -> list[dict[str, Any]]:
        """The segments of a customer the caller may see (a problem otherwise)."""
        loaded = await self._stored.load(customer_id)
        if isinstance(loaded, Refused):
            raise refusal_problem(loaded)
        seen = visible(customer_id, loaded, False, access)
        if isinstance(seen, Refused):
            raise refusal_problem(seen)
        async with self._database.acquire() as conn:
            rows = await memberships(conn, customer_id)
        return [
            {k: timestamp(v) if isinstance(v, datetime) else v for k, v in row.items()}
            for row in rows
        ]
