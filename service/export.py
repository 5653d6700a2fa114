"""The export of everything the service holds about a person (data portability).

The customer's document (domain/export.py) plus what lives beside it: its
sessions (accounts), the lockouts of its sign-in and step-up (throttles) and
its segment memberships (read model). Who may see it is judged by the rules of
every read of the document (actors/customer_reads.py); an admin also sees a
soft-deleted customer's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.customer_reads import visible
from actors.protocol import Refused
from domain.export import personal_data
from domain.model import Customer, timestamp
from domain.throttles import Guarded
from domain.unique_keys import email_key
from service.actor_replies import refusal_problem
from service.authentication import Principal
from service.stored_reads import StoredCustomers
from service.throttling import Throttles

EXPORT_FORMAT = "urn:customer-service:schema:customer-export:1"

_SESSIONS = """
SELECT id::text AS id, created_at, last_used_at, user_agent, expires_at, ended_at, ended_reason
FROM customer_sessions WHERE customer_id = $1::uuid ORDER BY created_at
"""
_SEGMENTS = """
SELECT s.id::text AS id, s.name, m.score, m.assigned_at
FROM segment_members m JOIN segments s ON s.id = m.segment_id
WHERE m.customer_id = $1::uuid ORDER BY s.name
"""


def _row(record: asyncpg.Record) -> dict[str, Any]:
    return {k: timestamp(v) if isinstance(v, datetime) else v for k, v in dict(record).items()}


class Exports:
    def __init__(self, stored: StoredCustomers, database: asyncpg.Pool, throttles: Throttles):
        self._stored = stored
        self._database = database
        self._throttles = throttles

    async def export(self, customer_id: str, caller: Principal) -> tuple[dict[str, Any], int]:
        """The export and the customer's version; a problem if the caller may not see it."""
        loaded = await self._stored.load(customer_id)
        if isinstance(loaded, Refused):
            raise refusal_problem(loaded)
        seen = visible(customer_id, loaded, caller.is_admin, caller.access)
        if isinstance(seen, Refused):
            raise refusal_problem(seen)
        return await self._assemble(seen), seen.version

    async def _assemble(self, customer: Customer) -> dict[str, Any]:
        async with self._database.acquire() as conn:
            sessions = await conn.fetch(_SESSIONS, customer.id)
            segments = await conn.fetch(_SEGMENTS, customer.id)
        held = personal_data(customer)
        held["sign_in"]["sessions"] = [_row(row) for row in sessions]
        held["sign_in"]["lockouts"] = {
            "sign_in": await self._throttles.standing(Guarded.SIGN_IN, email_key(customer.email)),
            "step_up": await self._throttles.standing(Guarded.STEP_UP, customer.id),
        }
        return {
            "format": EXPORT_FORMAT,
            "exported_at": timestamp(datetime.now(UTC)),
            "customer_id": customer.id,
            "version": customer.version,
            **held,
            "segments": [_row(row) for row in segments],
        }
