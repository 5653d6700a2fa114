"""Reads of the customer groups, from the registry's committed document.

The registry is read straight from the state store's table (one point read),
as one customer is (service/stored_reads.py); until its first change is
stored it is the configured list (``CUSTOMER_GROUPS``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from actors.customer_shell import STORE_DOWN
from domain.groups import REGISTRY_ID, SEEDED_AT, CustomerGroup, GroupRegistry
from observability.logging import get_logger
from readmodel.state_table import stored_value
from service.actor_replies import refusal_problem
from service.problems import Problem

log = get_logger(__name__)

GROUP_NOT_FOUND = Problem(404, "customer-group-not-found", "Customer group not found")
_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def _key(app_id: str) -> str:
    return f"{app_id}||customer-groups:{REGISTRY_ID}"


async def _load(database: asyncpg.Pool, app_id: str) -> dict[str, object] | None:
    async with database.acquire(timeout=5) as conn:
        raw = await stored_value(conn, _key(app_id))
    if raw is None:
        return None
    document: dict[str, object] = json.loads(raw)
    return document


class GroupReads:
    def __init__(self, database: asyncpg.Pool, app_id: str, configured: tuple[str, ...]) -> None:
        self._database = database
        self._app_id = app_id
        self._configured = configured

    async def registry(self) -> GroupRegistry:
        try:
            document = await _load(self._database, self._app_id)
        except _FAILURES as exc:
            log.warning("reading the customer groups failed", error=type(exc).__name__)
            raise refusal_problem(STORE_DOWN) from None
        if document is None:
            return GroupRegistry.seeded(self._configured, SEEDED_AT)
        return GroupRegistry.from_document(document)

    async def one(self, group_id: str) -> CustomerGroup:
        group = (await self.registry()).get(group_id)
        if group is None:
            raise GROUP_NOT_FOUND
        return group

    async def in_use(self, group_id: str) -> bool:
        """Whether a customer of the read model is in the group (about a second behind):
        a soft-deleted one too, since it may be restored (an erased one has no row)."""
        async with self._database.acquire(timeout=5) as conn:
            found: bool | None = await conn.fetchval(
                "SELECT true FROM customers WHERE customer_group_id = $1 LIMIT 1", group_id
            )
        return bool(found)


async def registered_groups(
    database: asyncpg.Pool, app_id: str, configured: Sequence[str]
) -> list[str]:
    """Every group of the registry (retired ones too), for the read model's list."""
    try:
        document = await _load(database, app_id)
    except _FAILURES:
        return list(configured)
    if document is None:
        return list(configured)
    return [group.id for group in GroupRegistry.from_document(document).groups]
