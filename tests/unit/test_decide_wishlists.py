"""Wishlist decisions: each wishlist its own version, limits, idempotency, events."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from domain.commands import (
    AddWishlistItem,
    CreateWishlist,
    DeleteCustomer,
    DeleteWishlist,
    RemoveWishlistItem,
    RenameWishlist,
    WishlistCommand,
)
from domain.decide import decide
from domain.errors import (
    CustomerDeleted,
    CustomerNotFound,
    IdempotencyKeyReused,
    IdempotentResourceGone,
    TooManyWishlistItems,
    TooManyWishlists,
    VersionMismatch,
    WishlistItemNotFound,
    WishlistNotFound,
)
from domain.policy import Policy
from domain.wishlists import (
    WISHLIST_CREATED,
    WISHLIST_DELETED,
    WISHLIST_ITEM_ADDED,
    WISHLIST_ITEM_UPDATED,
    WishlistDecision,
    Wishlists,
    decide_wishlists,
)
from tests.unit.builders import CUSTOMER_ID, NOW, POLICY, new_customer

SMALL = dataclasses.replace(POLICY, max_wishlists=2, max_wishlist_items=2)


def run(
    lists: Wishlists, command: WishlistCommand, policy: Policy = POLICY, later: int = 1
) -> WishlistDecision:
    return decide_wishlists(new_customer(), lists, command, NOW + timedelta(seconds=later), policy)


def with_list(name: str = "Birthday") -> Wishlists:
    return run(Wishlists(CUSTOMER_ID), CreateWishlist(wishlist_id="w1", name=name)).after


def test_a_new_wishlist_starts_at_version_1_and_its_event_carries_it() -> None:
    done = run(Wishlists(CUSTOMER_ID), CreateWishlist(wishlist_id="w1", name="Birthday"))
    assert done.event is not None
    assert (done.event.type, done.event.version, done.created) == (WISHLIST_CREATED, 1, True)
    assert done.event.snapshot == done.after.lists[0].to_document()
    assert done.event.to_data()["wishlist_id"] == "w1"
    again = Wishlists.from_document(CUSTOMER_ID, done.after.to_document())
    assert again == done.after


def test_the_same_product_and_variant_again_updates_the_item_there() -> None:
    lists = with_list()
    first = run(
        lists, AddWishlistItem(wishlist_id="w1", item_id="i1", product_id="p", variant_id="v")
    )
    assert (first.item_id, first.created, first.event and first.event.type) == (
        "i1",
        True,
        WISHLIST_ITEM_ADDED,
    )
    same = AddWishlistItem(
        wishlist_id="w1", item_id="i2", product_id="p", variant_id="v", quantity=3
    )
    again = run(first.after, same, later=2)
    assert (again.item_id, again.created) == ("i1", False)
    assert again.event is not None
    assert again.event.type == WISHLIST_ITEM_UPDATED
    assert again.event.changes["items.i1.quantity"] == {"before": 1, "after": 3}
    wishlist = again.after.get("w1")
    assert wishlist is not None
    assert (wishlist.version, len(wishlist.items)) == (3, 1)
    nothing = run(again.after, dataclasses.replace(same, item_id="i3"), later=3)
    assert (nothing.event, nothing.item_id) == (None, "i1")


def test_limits_refuse_beyond_the_configured_counts() -> None:
    lists = Wishlists(CUSTOMER_ID)
    for n in range(2):
        lists = run(lists, CreateWishlist(wishlist_id=f"w{n}", name="x"), SMALL).after
    with pytest.raises(TooManyWishlists):
        run(lists, CreateWishlist(wishlist_id="w9", name="x"), SMALL)
    for n in range(2):
        add = AddWishlistItem(wishlist_id="w0", item_id=f"i{n}", product_id=f"p{n}")
        lists = run(lists, add, SMALL).after
    with pytest.raises(TooManyWishlistItems):
        run(lists, AddWishlistItem(wishlist_id="w0", item_id="i9", product_id="p9"), SMALL)
    # The same product again is no new item: still allowed when full.
    full = AddWishlistItem(wishlist_id="w0", item_id="i8", product_id="p1", quantity=5)
    assert run(lists, full, SMALL).item_id == "i1"


def test_if_match_names_the_wishlists_own_version() -> None:
    lists = with_list()
    with pytest.raises(VersionMismatch):
        run(lists, RenameWishlist(wishlist_id="w1", name="New", if_match=(2,)))
    renamed = run(lists, RenameWishlist(wishlist_id="w1", name="New", if_match=(1,)))
    assert renamed.event is not None
    assert renamed.event.changes == {"name": {"before": "Birthday", "after": "New"}}
    assert run(renamed.after, RenameWishlist(wishlist_id="w1", name="New")).event is None


def test_unknown_wishlists_and_items_are_refused() -> None:
    lists = with_list()
    with pytest.raises(WishlistNotFound):
        run(lists, DeleteWishlist(wishlist_id="nope"))
    with pytest.raises(WishlistItemNotFound):
        run(lists, RemoveWishlistItem(wishlist_id="w1", item_id="nope"))


def test_a_delete_publishes_no_snapshot() -> None:
    done = run(with_list(), DeleteWishlist(wishlist_id="w1"))
    assert done.after.lists == ()
    assert done.event is not None
    assert (done.event.type, done.event.version) == (WISHLIST_DELETED, 2)
    assert done.event.to_data()["deleted"] is True
    assert "snapshot" not in done.event.to_data()


def test_an_idempotency_key_replays_and_refuses_another_body() -> None:
    create = CreateWishlist(wishlist_id="w1", name="Gifts", idempotency_key="k")
    first = run(Wishlists(CUSTOMER_ID), create)
    replay = run(first.after, create, later=2)
    assert (replay.event, replay.wishlist_id, replay.created) == (None, "w1", True)
    with pytest.raises(IdempotencyKeyReused):
        run(first.after, dataclasses.replace(create, name="Other"))
    gone = run(first.after, DeleteWishlist(wishlist_id="w1")).after
    with pytest.raises(IdempotentResourceGone):
        run(gone, create)


def test_only_a_live_customer_has_wishlist_changes() -> None:
    command = CreateWishlist(wishlist_id="w1", name="x")
    with pytest.raises(CustomerNotFound):
        decide_wishlists(None, Wishlists(CUSTOMER_ID), command, NOW, POLICY)
    deleted, _ = decide(new_customer(), DeleteCustomer(), NOW, POLICY)
    with pytest.raises(CustomerDeleted):
        decide_wishlists(deleted, Wishlists(CUSTOMER_ID), command, NOW, POLICY)
