"""Customer group decisions: the registry seeded by configuration, retire before
delete, the default group kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import (
    DefaultGroupRequired,
    GroupExists,
    GroupInUse,
    GroupNotFound,
    GroupNotRetired,
    InvalidFields,
    VersionMismatch,
)
from domain.groups import (
    GROUP_CREATED,
    GROUP_DELETED,
    GROUP_RETIRED,
    GROUP_UPDATED,
    CreateGroup,
    DeleteGroup,
    GroupRegistry,
    UpdateGroup,
    decide_group,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SEEDED = GroupRegistry.seeded(("retail", "vip"), NOW)


def test_the_configured_groups_seed_the_registry() -> None:
    assert SEEDED.active() == {"retail", "vip"}
    assert GroupRegistry.from_document(SEEDED.to_document()) == SEEDED


def test_a_new_group_is_active_at_version_1() -> None:
    done = decide_group(SEEDED, CreateGroup("gold", "Gold", None, {"discount": 5}), NOW, "retail")
    assert done.event is not None
    assert (done.event.type, done.event.version) == (GROUP_CREATED, 1)
    assert done.after.active() == {"retail", "vip", "gold"}
    with pytest.raises(GroupExists):
        decide_group(done.after, CreateGroup("gold", "Again"), NOW, "retail")
    with pytest.raises(InvalidFields):
        decide_group(SEEDED, CreateGroup("Gold!", "Gold"), NOW, "retail")


def test_retire_then_delete_only_when_empty() -> None:
    with pytest.raises(GroupNotRetired):
        decide_group(SEEDED, DeleteGroup("vip", in_use=False), NOW, "retail")
    retired = decide_group(SEEDED, UpdateGroup("vip", {"active": False}), NOW, "retail")
    assert retired.event is not None
    assert (retired.event.type, retired.event.version) == (GROUP_RETIRED, 2)
    assert retired.after.active() == {"retail"}
    with pytest.raises(GroupInUse):
        decide_group(retired.after, DeleteGroup("vip", in_use=True), NOW, "retail")
    with pytest.raises(VersionMismatch):
        decide_group(retired.after, DeleteGroup("vip", in_use=False, if_match=(1,)), NOW, "retail")
    gone = decide_group(retired.after, DeleteGroup("vip", in_use=False), NOW, "retail")
    assert gone.event is not None
    assert (gone.event.type, gone.event.to_data()["deleted"]) == (GROUP_DELETED, True)
    assert gone.after.get("vip") is None


def test_the_default_group_is_neither_retired_nor_deleted() -> None:
    with pytest.raises(DefaultGroupRequired):
        decide_group(SEEDED, UpdateGroup("retail", {"active": False}), NOW, "retail")
    with pytest.raises(DefaultGroupRequired):
        decide_group(SEEDED, DeleteGroup("retail", in_use=False), NOW, "retail")


def test_changes_are_named_and_a_same_value_change_commits_nothing() -> None:
    renamed = decide_group(SEEDED, UpdateGroup("vip", {"name": "VIP"}), NOW, "retail")
    assert renamed.event is not None
    assert renamed.event.type == GROUP_UPDATED
    assert renamed.event.changes == {"name": {"before": "vip", "after": "VIP"}}
    assert decide_group(renamed.after, UpdateGroup("vip", {"name": "VIP"}), NOW, None).event is None
    with pytest.raises(GroupNotFound):
        decide_group(SEEDED, UpdateGroup("nope", {"name": "x"}), NOW, None)
    with pytest.raises(InvalidFields):
        decide_group(SEEDED, UpdateGroup("vip", {"id": "x"}), NOW, None)
