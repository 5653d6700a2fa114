"""The actor's wishlist changes over fakes: one document of their own, one
commit and one event per change, and an erasure that takes them along."""

from __future__ import annotations

from actors.customer_actor import CustomerHandlers
from actors.customer_protocol import ErasureAsk, WishlistShown
from actors.customer_shell import CustomerShell
from actors.protocol import Refused
from actors.wishlist_shell import WishlistShell
from domain.commands import AddWishlistItem, CreateWishlist
from domain.errors import Refusal
from tests.unit.builders import CUSTOMER_ID, NOW, POLICY, create_command
from tests.unit.fakes import FakeClaims, FakeSessions, FakeStore, MonotonicClock
from tests.unit.test_customer_shell import FACTS


def handlers(customers: FakeStore, wishlists: FakeStore) -> CustomerHandlers:
    clock = MonotonicClock()
    shell = CustomerShell(
        CUSTOMER_ID, customers, FakeClaims(clock), POLICY, lambda: NOW, clock,
        sessions=FakeSessions(),
    )  # fmt: skip
    lists = WishlistShell(CUSTOMER_ID, customers, wishlists, POLICY, lambda: NOW)
    return CustomerHandlers(shell, FACTS, lists)


async def test_a_wishlist_change_commits_its_own_document_and_event_only() -> None:
    customers, wishlists = FakeStore(), FakeStore()
    actor = handlers(customers, wishlists)
    await actor.create(create_command())
    customer_before = customers.document(CUSTOMER_ID)

    made = await actor.create_wishlist(CreateWishlist(wishlist_id="w1", name="Birthday"))
    assert isinstance(made, WishlistShown)
    assert (made.version, made.committed, made.created) == (1, True, True)
    added = await actor.add_wishlist_item(
        AddWishlistItem(wishlist_id="w1", item_id="i1", product_id="p1")
    )
    assert isinstance(added, WishlistShown)
    assert (added.version, added.item_id) == (2, "i1")

    assert customers.document(CUSTOMER_ID) == customer_before
    assert len(customers.events) == 1  # the create's
    assert [e.type for e in wishlists.events] == [
        "customer.wishlist.created",
        "customer.wishlist.item_added",
    ]
    assert all(e.subject == CUSTOMER_ID for e in wishlists.events)
    stored = wishlists.document(CUSTOMER_ID)
    assert stored is not None
    assert [i["id"] for i in stored["wishlists"][0]["items"]] == ["i1"]


async def test_no_wishlist_without_a_customer_and_nothing_stored() -> None:
    customers, wishlists = FakeStore(), FakeStore()
    refused = await handlers(customers, wishlists).create_wishlist(
        CreateWishlist(wishlist_id="w1", name="x")
    )
    assert isinstance(refused, Refused)
    assert refused.code is Refusal.NOT_FOUND
    assert (wishlists.documents, wishlists.events) == ({}, [])


async def test_an_erasure_takes_the_customers_other_documents_in_its_commit() -> None:
    customers, wishlists = FakeStore(), FakeStore()
    actor = handlers(customers, wishlists)
    await actor.create(create_command())
    await actor.create_wishlist(CreateWishlist(wishlist_id="w1", name="x"))
    assert customers.erased_companions == []
    await actor.request_erasure(ErasureAsk(immediate=True))
    stored = customers.document(CUSTOMER_ID)
    assert stored is not None
    assert stored.get("erased_at")
    assert customers.erased_companions == [CUSTOMER_ID]
