"""The ``CustomerGroupRegistry`` actor (one: ``registry``) and the live set of groups.

All customer groups are one document (``customer-groups:registry``), changed
only by this actor, one call at a time: each change is one state transaction,
the document's upsert (ETag-guarded, insert-only the first time) plus its
``customer_group.*`` event as the single ``outbox.projection``. Until the first
change is stored, the registry is the configured list (``CUSTOMER_GROUPS``).

``LiveGroups`` gives the customer's actor the groups a customer may be given
(the active ones) when it decides a create or a change of the group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from actors.customer_shell import STORE_DOWN, Documents, Refusing, commit_one, refused
from actors.document_store import OutboxEvent, StoreError
from actors.hosting import actor_class
from actors.protocol import ActorType, Document
from domain.errors import DomainError, Refusal
from domain.groups import (
    DELETE_SETTLE,
    REGISTRY_ID,
    SEEDED_AT,
    CreateGroup,
    DeleteGroup,
    GroupCommand,
    GroupRegistry,
    UpdateGroup,
    decide_group,
)
from observability.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GroupShown:
    """A group after a command (None: deleted) at its own version."""

    group: Document | None = None
    version: int
    committed: bool | None = None


GROUPS = ActorType("CustomerGroupRegistry", Refusal, Refusal.BAD_COMMAND)
CREATE_GROUP = GROUPS.method("create_group", CreateGroup, GroupShown)
UPDATE_GROUP = GROUPS.method("update_group", UpdateGroup, GroupShown)
DELETE_GROUP = GROUPS.method("delete_group", DeleteGroup, GroupShown)


async def stored_registry(
    store: Documents, configured: tuple[str, ...]
) -> tuple[GroupRegistry, str | None]:
    """The registry and its ETag (None: nothing stored, the configured list)."""
    loaded = await store.load(REGISTRY_ID)
    if loaded.document is None:
        return GroupRegistry.seeded(configured, SEEDED_AT), None
    return GroupRegistry.from_document(loaded.document), loaded.etag


class LiveGroups:
    """The active groups, read from the registry's committed document."""

    def __init__(self, store: Documents, configured: tuple[str, ...]) -> None:
        self._store = store
        self._configured = configured

    async def active(self) -> frozenset[str]:
        registry, _ = await stored_registry(self._store, self._configured)
        return registry.active()


class GroupRegistryShell:
    def __init__(
        self,
        store: Documents,
        configured: tuple[str, ...],
        default_group: str | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        settle: timedelta = DELETE_SETTLE,
    ) -> None:
        self._store = store
        self._configured = configured
        self._default = default_group
        self._clock = clock
        self._settle = settle

    async def _run(self, command: GroupCommand) -> GroupShown | Refusing:
        try:
            registry, etag = await stored_registry(self._store, self._configured)
        except StoreError as exc:
            log.warning("loading the group registry failed", error=str(exc))
            return STORE_DOWN
        try:
            decision = decide_group(registry, command, self._clock(), self._default, self._settle)
        except DomainError as exc:
            return refused(exc)
        group = decision.after.get(decision.group_id)
        shown = None if group is None else group.to_document()
        event = decision.event
        if event is None:
            return GroupShown(group=shown, version=group.version if group else 0, committed=False)
        outbox = OutboxEvent(type=event.type, subject=event.group_id, data=event.to_data())
        document = decision.after.to_document()
        failure = await commit_one(
            self._store, REGISTRY_ID, document, outbox, etag, "group registry"
        )
        if failure is not None:
            return failure
        return GroupShown(group=shown, version=event.version, committed=True)

    async def create_group(self, command: CreateGroup) -> GroupShown | Refusing:
        return await self._run(command)

    async def update_group(self, command: UpdateGroup) -> GroupShown | Refusing:
        return await self._run(command)

    async def delete_group(self, command: DeleteGroup) -> GroupShown | Refusing:
        return await self._run(command)


CustomerGroupRegistry = actor_class(GROUPS, GroupRegistryShell)
