"""Reads of a customer's wishlists, from the committed documents (no actor turn).

The customer's document and its wishlists document are read together (one
indexed read of the state store's table) and judged by the rules of every read
of the customer (actors/customer_reads.py): an ended session, an unknown,
deleted or erased customer are refused as for its profile.
"""

from __future__ import annotations

from actors.customer_reads import visible
from actors.protocol import Refused
from domain.sessions import Access
from domain.wishlists import Wishlist, Wishlists
from service.actor_replies import refusal_problem
from service.problems import Problem
from service.stored_reads import StoredCustomers

WISHLIST_NOT_FOUND = Problem(404, "wishlist-not-found", "Wishlist not found")


class WishlistReads:
    def __init__(self, stored: StoredCustomers) -> None:
        self._stored = stored

    async def all(self, customer_id: str, access: Access | None) -> Wishlists:
        loaded = await self._stored.with_wishlists(customer_id)
        if isinstance(loaded, Refused):
            raise refusal_problem(loaded)
        customer, lists = loaded
        seen = visible(customer_id, customer, False, access)
        if isinstance(seen, Refused):
            raise refusal_problem(seen)
        return lists

    async def one(self, customer_id: str, wishlist_id: str, access: Access | None) -> Wishlist:
        wishlist = (await self.all(customer_id, access)).get(wishlist_id)
        if wishlist is None:
            raise WISHLIST_NOT_FOUND
        return wishlist
