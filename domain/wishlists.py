"""A customer's wishlists: decisions, kept apart from the customer document.

All of a customer's wishlists are one document of their own in the state
store (``wishlists:<customer id>``), written by the customer's actor (so
serialized with every other change of the customer) in a transaction of its
own: one upsert of that document plus its event. The customer document, and
so every profile, address and preference event, never holds a wishlist, and a
wishlist event carries that one wishlist, not the customer.

Each wishlist has its own ``version`` (+1 per change of it: its ETag) and
every change of one publishes one ``customer.wishlist.*`` event whose
snapshot is the wishlist at that version (a deleted one: none, and
``deleted: true``); a consumer keeping the highest version per wishlist is
immune to duplicates and reordering, as with customers.

One change is one request to the sidecar, which refuses a body over 4 MiB: a
change that would take the document plus its largest wishlist (what the next
event of that wishlist carries) past ``Policy.max_wishlists_bytes`` is refused
(:class:`WishlistsTooLarge`, nothing stored). Deleting a wishlist or removing
an item never grows either, so it is never refused for size.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from domain.commands import (
    AddWishlistItem,
    CreateWishlist,
    DeleteWishlist,
    RemoveWishlistItem,
    RenameWishlist,
    WishlistCommand,
    request_fingerprint,
)
from domain.errors import (
    IdempotencyKeyReused,
    IdempotentResourceGone,
    TooManyWishlistItems,
    TooManyWishlists,
    VersionMismatch,
    WishlistItemNotFound,
    WishlistNotFound,
    WishlistsTooLarge,
)
from domain.events import diff, versioned_change
from domain.model import Customer, timestamp
from domain.policy import Policy
from domain.sessions import check_access
from domain.transitions import require_live

WISHLIST_CREATED = "customer.wishlist.created"
WISHLIST_UPDATED = "customer.wishlist.updated"
WISHLIST_DELETED = "customer.wishlist.deleted"
WISHLIST_ITEM_ADDED = "customer.wishlist.item_added"
WISHLIST_ITEM_UPDATED = "customer.wishlist.item_updated"
WISHLIST_ITEM_REMOVED = "customer.wishlist.item_removed"
WISHLIST_EVENT_TYPES = (
    WISHLIST_CREATED,
    WISHLIST_UPDATED,
    WISHLIST_DELETED,
    WISHLIST_ITEM_ADDED,
    WISHLIST_ITEM_UPDATED,
    WISHLIST_ITEM_REMOVED,
)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
IDEMPOTENCY_RECORDS_KEPT = 100
DEFAULT_QUANTITY = 1


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclasses.dataclass(frozen=True, slots=True)
class WishlistItem:
    id: str
    product_id: str
    variant_id: str | None
    quantity: int
    note: str | None
    added_at: datetime
    updated_at: datetime

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product_id": self.product_id,
            "variant_id": self.variant_id,
            "quantity": self.quantity,
            "note": self.note,
            "added_at": timestamp(self.added_at),
            "updated_at": timestamp(self.updated_at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> WishlistItem:
        return cls(
            id=doc["id"],
            product_id=doc["product_id"],
            variant_id=doc.get("variant_id"),
            quantity=int(doc["quantity"]),
            note=doc.get("note"),
            added_at=_time(doc["added_at"]),
            updated_at=_time(doc["updated_at"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Wishlist:
    id: str
    customer_id: str
    name: str
    version: int
    created_at: datetime
    updated_at: datetime
    items: tuple[WishlistItem, ...] = ()

    def item(self, item_id: str) -> WishlistItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def item_for(self, product_id: str, variant_id: str | None) -> WishlistItem | None:
        return next(
            (i for i in self.items if (i.product_id, i.variant_id) == (product_id, variant_id)),
            None,
        )

    def summary(self) -> dict[str, Any]:
        """What a list of wishlists shows of one: everything but its items."""
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "name": self.name,
            "version": self.version,
            "item_count": len(self.items),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }

    def to_document(self) -> dict[str, Any]:
        """The wishlist as stored, shown and carried by its events."""
        return {**self.summary(), "items": [item.to_document() for item in self.items]}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Wishlist:
        return cls(
            id=doc["id"],
            customer_id=doc["customer_id"],
            name=doc["name"],
            version=int(doc["version"]),
            created_at=_time(doc["created_at"]),
            updated_at=_time(doc["updated_at"]),
            items=tuple(WishlistItem.from_document(i) for i in doc.get("items") or ()),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WishlistRecord:
    """An ``Idempotency-Key`` already used, and what it made (a wishlist, or an item)."""

    key: str
    fingerprint: str
    wishlist_id: str
    item_id: str | None
    at: datetime

    def to_document(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "fingerprint": self.fingerprint,
            "wishlist_id": self.wishlist_id,
            "item_id": self.item_id,
            "at": timestamp(self.at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> WishlistRecord:
        return cls(
            doc["key"], doc["fingerprint"], doc["wishlist_id"], doc["item_id"], _time(doc["at"])
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Wishlists:
    """Every wishlist of one customer: the document ``wishlists:<customer id>``."""

    customer_id: str
    lists: tuple[Wishlist, ...] = ()
    idempotency: tuple[WishlistRecord, ...] = ()

    def get(self, wishlist_id: str) -> Wishlist | None:
        return next((w for w in self.lists if w.id == wishlist_id), None)

    def to_document(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "wishlists": [w.to_document() for w in self.lists],
            "internal": {"idempotency": [r.to_document() for r in self.idempotency]},
        }

    @classmethod
    def from_document(cls, customer_id: str, doc: dict[str, Any] | None) -> Wishlists:
        if not doc:
            return cls(customer_id)
        internal = doc.get("internal") or {}
        return cls(
            customer_id=customer_id,
            lists=tuple(Wishlist.from_document(w) for w in doc.get("wishlists") or ()),
            idempotency=tuple(
                WishlistRecord.from_document(r) for r in internal.get("idempotency") or ()
            ),
        )

    def replacing(self, wishlist: Wishlist) -> Wishlists:
        lists = tuple(wishlist if w.id == wishlist.id else w for w in self.lists)
        if wishlist.id not in {w.id for w in self.lists}:
            lists = (*lists, wishlist)
        return dataclasses.replace(self, lists=lists)


@dataclasses.dataclass(frozen=True, slots=True)
class WishlistEvent:
    type: str
    customer_id: str
    wishlist_id: str
    version: int
    occurred_at: datetime
    changes: dict[str, dict[str, Any]]
    snapshot: dict[str, Any] | None  # None: the wishlist was deleted

    def to_data(self) -> dict[str, Any]:
        ids = {"customer_id": self.customer_id, "wishlist_id": self.wishlist_id}
        return versioned_change(ids, self.version, self.occurred_at, self.changes, self.snapshot)


@dataclasses.dataclass(frozen=True, slots=True)
class WishlistDecision:
    """The wishlists after a command, its event (None: nothing to commit), and
    what the answer shows: the wishlist, the item, and whether it is new."""

    after: Wishlists
    event: WishlistEvent | None
    wishlist_id: str
    item_id: str | None = None
    created: bool = False


def _checked(customer: Customer | None, command: WishlistCommand) -> Customer:
    """The live customer, for a session that may still act."""
    if command.access is not None:
        check_access(customer, command.access)
    return require_live(customer, None)


def _wishlist(lists: Wishlists, wishlist_id: str, if_match: tuple[int, ...] | None) -> Wishlist:
    wishlist = lists.get(wishlist_id)
    if wishlist is None:
        raise WishlistNotFound(f"wishlist {wishlist_id} does not exist")
    if if_match is not None and wishlist.version not in if_match:
        raise VersionMismatch(
            f"wishlist is at version {wishlist.version}, not " + ", ".join(map(str, if_match))
        )
    return wishlist


def _recent(lists: Wishlists, now: datetime) -> tuple[WishlistRecord, ...]:
    kept = [r for r in lists.idempotency if now - r.at < IDEMPOTENCY_WINDOW]
    return tuple(kept[-IDEMPOTENCY_RECORDS_KEPT:])


def _replayed(
    lists: Wishlists, key: str | None, fingerprint: str, now: datetime
) -> WishlistRecord | None:
    """The record of a retry of this request (None: not a retry)."""
    if key is None:
        return None
    used = next((r for r in _recent(lists, now) if r.key == key), None)
    if used is None:
        return None
    if used.fingerprint != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    wishlist = lists.get(used.wishlist_id)
    if wishlist is None or (used.item_id is not None and wishlist.item(used.item_id) is None):
        raise IdempotentResourceGone("what this Idempotency-Key created has been deleted")
    return used


def _recorded(
    lists: Wishlists, key: str | None, fingerprint: str, made: tuple[str, str | None], now: datetime
) -> tuple[WishlistRecord, ...]:
    records = _recent(lists, now)
    if key is None:
        return records
    return (*records, WishlistRecord(key, fingerprint, made[0], made[1], now))


def _event(
    event_type: str, before: Wishlist | None, after: Wishlist, now: datetime, deleted: bool = False
) -> WishlistEvent:
    snapshot = after.to_document()
    return WishlistEvent(
        type=event_type,
        customer_id=after.customer_id,
        wishlist_id=after.id,
        version=after.version,
        occurred_at=now,
        changes=diff(before.to_document() if before else None, snapshot) if not deleted else {},
        snapshot=None if deleted else snapshot,
    )


def _next(wishlist: Wishlist, now: datetime, **changes: Any) -> Wishlist:
    return dataclasses.replace(wishlist, **changes, version=wishlist.version + 1, updated_at=now)


def decide_create(
    lists: Wishlists, command: CreateWishlist, now: datetime, policy: Policy
) -> WishlistDecision:
    fingerprint = request_fingerprint({"name": command.name})
    if (used := _replayed(lists, command.idempotency_key, fingerprint, now)) is not None:
        return WishlistDecision(lists, None, used.wishlist_id, created=True)
    if lists.get(command.wishlist_id) is not None:
        # Only an id derived from a key no longer remembered can meet its wishlist.
        raise IdempotentResourceGone("this Idempotency-Key already made a wishlist")
    if len(lists.lists) >= policy.max_wishlists:
        raise TooManyWishlists(f"a customer can have at most {policy.max_wishlists} wishlists")
    wishlist = Wishlist(command.wishlist_id, lists.customer_id, command.name, 1, now, now)
    records = _recorded(lists, command.idempotency_key, fingerprint, (wishlist.id, None), now)
    after = dataclasses.replace(lists.replacing(wishlist), idempotency=records)
    return WishlistDecision(
        after, _event(WISHLIST_CREATED, None, wishlist, now), wishlist.id, created=True
    )


def decide_rename(
    lists: Wishlists, command: RenameWishlist, now: datetime, policy: Policy
) -> WishlistDecision:
    wishlist = _wishlist(lists, command.wishlist_id, command.if_match)
    if wishlist.name == command.name:
        return WishlistDecision(lists, None, wishlist.id)
    renamed = _next(wishlist, now, name=command.name)
    event = _event(WISHLIST_UPDATED, wishlist, renamed, now)
    return WishlistDecision(lists.replacing(renamed), event, wishlist.id)


def decide_delete(
    lists: Wishlists, command: DeleteWishlist, now: datetime, policy: Policy
) -> WishlistDecision:
    wishlist = _wishlist(lists, command.wishlist_id, command.if_match)
    remaining = tuple(w for w in lists.lists if w.id != wishlist.id)
    after = dataclasses.replace(lists, lists=remaining)
    gone = _next(wishlist, now)
    return WishlistDecision(after, _event(WISHLIST_DELETED, wishlist, gone, now, True), wishlist.id)


def decide_add_item(
    lists: Wishlists, command: AddWishlistItem, now: datetime, policy: Policy
) -> WishlistDecision:
    sent = {
        "product_id": command.product_id,
        "variant_id": command.variant_id,
        "quantity": command.quantity,
        "note": command.note,
    }
    fingerprint = request_fingerprint({"wishlist_id": command.wishlist_id, **sent})
    if (used := _replayed(lists, command.idempotency_key, fingerprint, now)) is not None:
        return WishlistDecision(lists, None, used.wishlist_id, used.item_id, created=True)
    wishlist = _wishlist(lists, command.wishlist_id, command.if_match)
    existing = wishlist.item_for(command.product_id, command.variant_id)
    if existing is not None:
        # The same product again: the item there, with what was sent.
        quantity = existing.quantity if command.quantity is None else command.quantity
        note = existing.note if command.note is None else command.note
        if (quantity, note) == (existing.quantity, existing.note):
            return WishlistDecision(lists, None, wishlist.id, existing.id)
        item = dataclasses.replace(existing, quantity=quantity, note=note, updated_at=now)
        items = tuple(item if i.id == existing.id else i for i in wishlist.items)
        updated = _next(wishlist, now, items=items)
        event = _event(WISHLIST_ITEM_UPDATED, wishlist, updated, now)
        return WishlistDecision(lists.replacing(updated), event, wishlist.id, existing.id)
    if wishlist.item(command.item_id) is not None:
        raise IdempotentResourceGone("this Idempotency-Key already made an item")
    if len(wishlist.items) >= policy.max_wishlist_items:
        raise TooManyWishlistItems(f"a wishlist can hold at most {policy.max_wishlist_items} items")
    item = WishlistItem(
        id=command.item_id,
        product_id=command.product_id,
        variant_id=command.variant_id,
        quantity=DEFAULT_QUANTITY if command.quantity is None else command.quantity,
        note=command.note,
        added_at=now,
        updated_at=now,
    )
    updated = _next(wishlist, now, items=(*wishlist.items, item))
    records = _recorded(lists, command.idempotency_key, fingerprint, (wishlist.id, item.id), now)
    after = dataclasses.replace(lists.replacing(updated), idempotency=records)
    event = _event(WISHLIST_ITEM_ADDED, wishlist, updated, now)
    return WishlistDecision(after, event, wishlist.id, item.id, created=True)


def decide_remove_item(
    lists: Wishlists, command: RemoveWishlistItem, now: datetime, policy: Policy
) -> WishlistDecision:
    wishlist = _wishlist(lists, command.wishlist_id, command.if_match)
    if wishlist.item(command.item_id) is None:
        raise WishlistItemNotFound(f"item {command.item_id} is not on this wishlist")
    items = tuple(i for i in wishlist.items if i.id != command.item_id)
    updated = _next(wishlist, now, items=items)
    event = _event(WISHLIST_ITEM_REMOVED, wishlist, updated, now)
    return WishlistDecision(lists.replacing(updated), event, wishlist.id)


def _bytes(document: dict[str, Any]) -> int:
    """The size of ``document`` as the store is sent it (compact, ASCII-escaped JSON)."""
    return len(json.dumps(document, separators=(",", ":")))


def stored_bytes(lists: Wishlists) -> int:
    """The document plus its largest wishlist: the most one change of it sends."""
    largest = max((_bytes(w.to_document()) for w in lists.lists), default=0)
    return _bytes(lists.to_document()) + largest


def _check_size(decision: WishlistDecision, policy: Policy) -> None:
    if decision.event is None:
        return
    size = stored_bytes(decision.after)
    if size > policy.max_wishlists_bytes:
        raise WishlistsTooLarge(
            f"the customer's wishlists would take {size} bytes, over the "
            f"{policy.max_wishlists_bytes} one change may carry: remove items or wishlists"
        )


def decide_wishlists(
    customer: Customer | None,
    lists: Wishlists,
    command: WishlistCommand,
    now: datetime,
    policy: Policy,
) -> WishlistDecision:
    """Decide ``command`` on the customer's wishlists: only for a live customer,
    and for a customer's session only while it may act."""
    _checked(customer, command)
    if isinstance(command, DeleteWishlist):
        return decide_delete(lists, command, now, policy)
    if isinstance(command, AddWishlistItem):
        decision = decide_add_item(lists, command, now, policy)
    elif isinstance(command, CreateWishlist):
        decision = decide_create(lists, command, now, policy)
    elif isinstance(command, RenameWishlist):
        decision = decide_rename(lists, command, now, policy)
    else:
        return decide_remove_item(lists, command, now, policy)
    # What only shrinks (a delete, a removal) is never refused for size.
    _check_size(decision, policy)
    return decision
