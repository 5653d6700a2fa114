"""Customer group decisions: the registry seeded by configuration, retire before
delete, the default group kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import (
    DefaultGroupRequired,
    GroupExists,
    GroupInUse,
    GroupNotFound,
    GroupNotRetired,
    GroupSettling,
    InvalidFields,
    VersionMismatch,
)
from domain.groups import (
    GROUP_CREATED,
    GROUP_DELETED,
    GROUP_RETIRED,
    GROUP_UPDATED,
    CreateGroup,
    CustomerGroup,
    DeleteGroup,
    GroupRegistry,
    UpdateGroup,
    decide_group,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# A retired group may be deleted from DELETE_SETTLE (60 s) after its retirement.
SETTLED = NOW + timedelta(seconds=60)
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
        decide_group(retired.after, DeleteGroup("vip", in_use=True), SETTLED, "retail")
    with pytest.raises(VersionMismatch):
        decide_group(
            retired.after, DeleteGroup("vip", in_use=False, if_match=(1,)), SETTLED, "retail"
        )
    gone = decide_group(retired.after, DeleteGroup("vip", in_use=False), SETTLED, "retail")
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


def test_a_retired_group_is_deleted_only_a_settle_window_after_its_retirement() -> None:
    retired = decide_group(SEEDED, UpdateGroup("vip", {"active": False}), NOW, "retail").after
    vip = retired.get("vip")
    assert vip is not None
    assert vip.retired_at == NOW
    assert GroupRegistry.from_document(retired.to_document()) == retired
    # Empty in the read model, but a customer's actor may have seen it active just
    # now and its change not be projected yet.
    early = SETTLED - timedelta(seconds=1)
    with pytest.raises(GroupSettling):
        decide_group(retired, DeleteGroup("vip", in_use=False), early, "retail")
    # What counts is when the read model was asked, not when the actor decides.
    asked_early = DeleteGroup("vip", in_use=False, checked_at=early)
    with pytest.raises(GroupSettling):
        decide_group(retired, asked_early, SETTLED + timedelta(hours=1), "retail")
    # The window is the configured one; in use is still refused after it.
    short = timedelta(seconds=2)
    later = NOW + short
    with pytest.raises(GroupInUse):
        decide_group(retired, DeleteGroup("vip", in_use=True), later, "retail", short)
    assert decide_group(retired, DeleteGroup("vip", in_use=False), later, "retail", short).event
    # Brought back and retired again: the window starts again.
    back = decide_group(retired, UpdateGroup("vip", {"active": True}), later, "retail").after
    assert back.active() == {"retail", "vip"}
    assert [g.retired_at for g in back.groups] == [None, None]
    again = decide_group(back, UpdateGroup("vip", {"active": False}), SETTLED, "retail").after
    with pytest.raises(GroupSettling):
        decide_group(again, DeleteGroup("vip", in_use=False), SETTLED + short, "retail")
    # A rename while retired keeps the retirement's time.
    renamed = decide_group(again, UpdateGroup("vip", {"name": "V"}), SETTLED + short, "retail")
    assert [g.retired_at for g in renamed.after.groups] == [None, SETTLED]


def test_a_group_retired_before_retirements_were_dated_counts_from_its_last_change() -> None:
    document = CustomerGroup("old", "Old", None, {}, False, 3, NOW, NOW).to_document()
    del document["retired_at"]
    assert CustomerGroup.from_document(document).retired_at == NOW


def test_a_deleted_group_id_is_never_used_again() -> None:
    retired = decide_group(SEEDED, UpdateGroup("vip", {"active": False}), NOW, "retail")
    gone = decide_group(retired.after, DeleteGroup("vip", in_use=False), SETTLED, "retail")
    assert gone.event is not None
    assert gone.event.version == 3
    assert gone.after.deleted == ("vip",)
    assert GroupRegistry.from_document(gone.after.to_document()) == gone.after
    # Made again, its versions would start at 1 below the deletion's 3.
    with pytest.raises(GroupExists, match="deleted"):
        decide_group(gone.after, CreateGroup("vip", "VIP again"), SETTLED, "retail")
    # Other changes keep the tombstones.
    made = decide_group(gone.after, CreateGroup("gold", "Gold"), SETTLED, "retail")
    assert made.after.deleted == ("vip",)
    renamed = decide_group(made.after, UpdateGroup("gold", {"name": "G"}), SETTLED, "retail")
    assert renamed.after.deleted == ("vip",)
