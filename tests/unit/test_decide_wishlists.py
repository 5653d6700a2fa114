"""Wishlist decisions: each wishlist its own version, limits, idempotency, events."""

from __future__ import annotations

import dataclasses
import json
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
    WishlistsTooLarge,
)
from domain.policy import Policy
from domain.wishlists import (
    WISHLIST_CREATED,
    WISHLIST_DELETED,
    WISHLIST_ITEM_ADDED,
    WISHLIST_ITEM_UPDATED,
    Wishlist,
    WishlistDecision,
    WishlistItem,
    Wishlists,
    decide_wishlists,
    stored_bytes,
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


# -- the byte budget: one change is one sidecar request, which daprd caps at 4 MiB ----------

DAPRD_MAX_BODY = 4 * 1024 * 1024
# Outside every character set JSON leaves as is: 12 bytes each (a surrogate pair).
WIDE = "\N{GRINNING FACE}"


def widest_item(n: int) -> WishlistItem:
    """An item whose every field is as long as the routes allow, all escaped in JSON."""
    return WishlistItem(
        id=f"i{n:04d}",
        product_id=f"{n:04d}" + WIDE * 96,
        variant_id=WIDE * 100,
        quantity=999,
        note=WIDE * 500,
        added_at=NOW,
        updated_at=NOW,
    )


def widest_lists(lists: int, items: int) -> Wishlists:
    return Wishlists(
        CUSTOMER_ID,
        tuple(
            Wishlist(
                id=f"w{w:02d}",
                customer_id=CUSTOMER_ID,
                name=WIDE * 100,
                version=1,
                created_at=NOW,
                updated_at=NOW,
                items=tuple(widest_item(n) for n in range(items)),
            )
            for w in range(lists)
        ),
    )


def transaction_bytes(decision: WishlistDecision) -> int:
    """What the sidecar is sent, less its envelope: the document and the event's data."""
    assert decision.event is not None
    compact = {"separators": (",", ":")}
    return len(json.dumps(decision.after.to_document(), **compact)) + len(  # type: ignore[arg-type]
        json.dumps(decision.event.to_data(), **compact)  # type: ignore[arg-type]
    )


def add_widest(lists: Wishlists, n: int, wishlist_id: str = "w00") -> WishlistDecision:
    item = widest_item(n)
    command = AddWishlistItem(
        wishlist_id=wishlist_id,
        item_id=item.id,
        product_id=item.product_id,
        variant_id=item.variant_id,
        note=item.note,
    )
    return run(lists, command)


def test_the_default_limits_allow_far_more_than_one_request_carries() -> None:
    # 20 lists of 500 such items: about twice what daprd accepts in one body.
    one_list = stored_bytes(widest_lists(1, POLICY.max_wishlist_items)) // 2
    assert one_list * POLICY.max_wishlists > 2 * DAPRD_MAX_BODY
    assert POLICY.max_wishlists_bytes + 512 * 1024 < DAPRD_MAX_BODY


def test_a_change_past_the_byte_budget_is_refused_and_every_allowed_one_fits() -> None:
    per_item = stored_bytes(widest_lists(1, 2)) - stored_bytes(widest_lists(1, 1))
    # Just below the budget (an item counts twice: in the document and in its list).
    start = POLICY.max_wishlists_bytes // per_item - 3
    lists = widest_lists(1, start)
    accepted, refused = 0, None
    for n in range(start, POLICY.max_wishlist_items):
        try:
            decision = add_widest(lists, n)
        except WishlistsTooLarge as exc:
            refused = exc
            break
        assert transaction_bytes(decision) <= POLICY.max_wishlists_bytes
        lists, accepted = decision.after, accepted + 1
    assert refused is not None
    assert 0 < accepted < 10  # refused before the item limit: the budget is what stops it
    assert len(lists.lists[0].items) < POLICY.max_wishlist_items
    # A new wishlist is a growth too; a removal or a delete never is.
    full = dataclasses.replace(POLICY, max_wishlists_bytes=stored_bytes(lists))
    with pytest.raises(WishlistsTooLarge):
        run(lists, CreateWishlist(wishlist_id="w99", name="x"), full)
    removed = run(lists, RemoveWishlistItem(wishlist_id="w00", item_id="i0000"), full)
    assert transaction_bytes(removed) <= POLICY.max_wishlists_bytes
    assert run(lists, DeleteWishlist(wishlist_id="w00"), full).after.lists == ()


def test_the_budget_counts_the_largest_wishlist_not_only_the_one_changed() -> None:
    lists = widest_lists(2, 3)
    lists = dataclasses.replace(
        lists, lists=(lists.lists[0], dataclasses.replace(lists.lists[1], items=()))
    )
    small = AddWishlistItem(wishlist_id="w01", item_id="x1", product_id="p")
    fits = run(lists, small)
    assert fits.event is not None
    # This change sends far less than the budget below, but the big list's next
    # event (its removal, say) would carry it all: refused now, not then.
    budget = stored_bytes(fits.after) - 1
    assert transaction_bytes(fits) < budget - 10_000
    with pytest.raises(WishlistsTooLarge):
        run(lists, small, dataclasses.replace(POLICY, max_wishlists_bytes=budget))
    # Nothing to change is nothing refused: the same product again, as it is.
    again = AddWishlistItem(wishlist_id="w01", item_id="x2", product_id="p")
    tight = dataclasses.replace(POLICY, max_wishlists_bytes=1)
    assert run(fits.after, again, tight).event is None
