"""Customer groups: the registry of groups, its decisions and events.

All groups are one document (the registry), changed by one actor, so changes
are serialized; each group has its own ``version``. The configured list
(``CUSTOMER_GROUPS``) seeds the registry until its first change is stored.

A group is retired (``active: false``) before it is deleted: a retired group is
given to no customer any more (create and update validate ``customer_group_id``
against the active groups), its customers are moved elsewhere (by a job:
a group may hold a million customers), and it can be deleted once no customer
of the read model is in it (soft-deleted ones too: they may be restored).
The read model lags, and a customer's actor may have checked the group while
it was still active: so a group is deleted only if the read model was asked
at least ``settle`` (60 s by default) after the group was retired: long enough
for every change that saw it active to be committed and projected. A
customer restored into a group that is gone or retired joins the default
group (domain/profile.py). The default group can be neither retired nor
deleted.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.errors import (
    DefaultGroupRequired,
    FieldError,
    GroupExists,
    GroupInUse,
    GroupNotFound,
    GroupNotRetired,
    GroupSettling,
    InvalidFields,
    VersionMismatch,
)
from domain.events import diff, versioned_change
from domain.model import timestamp

GROUP_CREATED = "customer_group.created"
GROUP_UPDATED = "customer_group.updated"
GROUP_RETIRED = "customer_group.retired"
GROUP_DELETED = "customer_group.deleted"
GROUP_EVENT_TYPES = (GROUP_CREATED, GROUP_UPDATED, GROUP_RETIRED, GROUP_DELETED)

GROUP_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
# The one registry: the id of its actor and of its document.
REGISTRY_ID = "registry"
# Configured groups have no creation time of their own: they show this one.
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
# How long after its retirement a group may be deleted (CUSTOMER_GROUP_DELETE_SETTLE_SECONDS).
DELETE_SETTLE = timedelta(seconds=60)


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerGroup:
    id: str
    name: str
    description: str | None
    attributes: dict[str, Any]
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    # When it was last retired (None: active).
    retired_at: datetime | None = None

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes,
            "active": self.active,
            "version": self.version,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "retired_at": None if self.retired_at is None else timestamp(self.retired_at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> CustomerGroup:
        active = bool(doc["active"])
        # Retired before retirements were dated: its last change is no earlier.
        retired_at: str = doc.get("retired_at") or doc["updated_at"]
        return cls(
            id=doc["id"],
            name=doc["name"],
            description=doc.get("description"),
            attributes=dict(doc.get("attributes") or {}),
            active=active,
            version=int(doc["version"]),
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            retired_at=None if active else datetime.fromisoformat(retired_at),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class GroupRegistry:
    groups: tuple[CustomerGroup, ...]
    # The ids of deleted groups: never given to a new group, so that a group's
    # versions never start again (consumers keep the highest version per id).
    deleted: tuple[str, ...] = ()

    @classmethod
    def seeded(cls, configured: tuple[str, ...], at: datetime) -> GroupRegistry:
        """The configured groups, as the registry holds them until its first change."""
        return cls(tuple(CustomerGroup(g, g, None, {}, True, 1, at, at) for g in configured))

    def get(self, group_id: str) -> CustomerGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def active(self) -> frozenset[str]:
        """The groups a customer may be given."""
        return frozenset(g.id for g in self.groups if g.active)

    def to_document(self) -> dict[str, Any]:
        return {"groups": [g.to_document() for g in self.groups], "deleted": list(self.deleted)}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> GroupRegistry:
        return cls(
            tuple(CustomerGroup.from_document(g) for g in doc.get("groups") or ()),
            tuple(doc.get("deleted") or ()),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CreateGroup:
    id: str
    name: str
    description: str | None = None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateGroup:
    id: str
    # Sent fields only: name, description, attributes, active.
    changes: dict[str, Any]
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteGroup:
    id: str
    # Whether a customer (a soft-deleted one too) is in the group, as the read model says.
    in_use: bool
    if_match: tuple[int, ...] | None = None
    # When the read model was asked (None: now); it must be ``settle`` after the retirement.
    checked_at: datetime | None = None


GroupCommand = CreateGroup | UpdateGroup | DeleteGroup


@dataclasses.dataclass(frozen=True, slots=True)
class GroupEvent:
    type: str
    group_id: str
    version: int
    occurred_at: datetime
    changes: dict[str, dict[str, Any]]
    snapshot: dict[str, Any] | None  # None: deleted

    def to_data(self) -> dict[str, Any]:
        ids = {"group_id": self.group_id}
        return versioned_change(ids, self.version, self.occurred_at, self.changes, self.snapshot)


@dataclasses.dataclass(frozen=True, slots=True)
class GroupDecision:
    after: GroupRegistry
    event: GroupEvent | None
    group_id: str


_UPDATABLE = frozenset({"name", "description", "attributes", "active"})


def _existing(
    registry: GroupRegistry, group_id: str, if_match: tuple[int, ...] | None
) -> CustomerGroup:
    group = registry.get(group_id)
    if group is None:
        raise GroupNotFound(f"customer group {group_id} does not exist")
    if if_match is not None and group.version not in if_match:
        raise VersionMismatch(
            f"group is at version {group.version}, not " + ", ".join(map(str, if_match))
        )
    return group


def _replaced(registry: GroupRegistry, group: CustomerGroup) -> GroupRegistry:
    groups = tuple(group if g.id == group.id else g for g in registry.groups)
    if registry.get(group.id) is None:
        groups = (*groups, group)
    return dataclasses.replace(registry, groups=groups)


def decide_group(
    registry: GroupRegistry,
    command: GroupCommand,
    now: datetime,
    default_group: str | None,
    settle: timedelta = DELETE_SETTLE,
) -> GroupDecision:
    if isinstance(command, CreateGroup):
        if not GROUP_ID.fullmatch(command.id):
            raise InvalidFields(
                [FieldError("id", "lower-case letters, digits, '-' and '_' (1-50)", "pattern")]
            )
        if registry.get(command.id) is not None:
            raise GroupExists(f"customer group {command.id} exists")
        if command.id in registry.deleted:
            raise GroupExists(
                f"customer group {command.id} was deleted; the id of a deleted group is not reused"
            )
        group = CustomerGroup(
            command.id,
            command.name,
            command.description,
            dict(command.attributes),
            True,
            1,
            now,
            now,
        )
        event = GroupEvent(
            GROUP_CREATED, group.id, 1, now, diff(None, group.to_document()), group.to_document()
        )
        return GroupDecision(_replaced(registry, group), event, group.id)
    group = _existing(registry, command.id, command.if_match)
    if isinstance(command, DeleteGroup):
        if group.id == default_group:
            raise DefaultGroupRequired("the default group cannot be deleted")
        if group.active:
            raise GroupNotRetired("retire the group (active: false) before deleting it")
        checked_at = command.checked_at or now
        assert group.retired_at is not None  # every retired group says when
        if checked_at - group.retired_at < settle:
            wait = (group.retired_at + settle - checked_at).total_seconds()
            raise GroupSettling(
                f"the group was retired less than {settle.total_seconds():g} s ago: "
                f"changes that saw it active may still be on their way; try again in {wait:.0f} s"
            )
        if command.in_use:
            raise GroupInUse("customers are in this group (soft-deleted ones too); move them first")
        remaining = GroupRegistry(
            tuple(g for g in registry.groups if g.id != group.id), (*registry.deleted, group.id)
        )
        event = GroupEvent(GROUP_DELETED, group.id, group.version + 1, now, {}, None)
        return GroupDecision(remaining, event, group.id)
    unknown = sorted(command.changes.keys() - _UPDATABLE)
    if unknown:
        raise InvalidFields(
            [FieldError(name, "cannot be changed", "read_only") for name in unknown]
        )
    updated = dataclasses.replace(group, **command.changes)
    if updated == group:
        return GroupDecision(registry, None, group.id)
    if not updated.active and group.id == default_group:
        raise DefaultGroupRequired("the default group cannot be retired")
    retired = group.active and not updated.active
    updated = dataclasses.replace(
        updated,
        version=group.version + 1,
        updated_at=now,
        retired_at=None if updated.active else (now if retired else group.retired_at),
    )
    snapshot = updated.to_document()
    event = GroupEvent(
        GROUP_RETIRED if retired else GROUP_UPDATED,
        group.id,
        updated.version,
        now,
        diff(group.to_document(), snapshot),
        snapshot,
    )
    return GroupDecision(_replaced(registry, updated), event, group.id)
