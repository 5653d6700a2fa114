"""Wishlist routes: /api/v1/customers/{customer_id}/wishlists (the customer, or an admin).

Changes go to the customer's actor (serialized with every change of the
customer); reads come from the committed documents. Each wishlist has its own
version: its ETag, and what ``If-Match`` names on its changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from actors.customer_protocol import (
    ADD_WISHLIST_ITEM,
    CREATE_WISHLIST,
    DELETE_WISHLIST,
    REMOVE_WISHLIST_ITEM,
    RENAME_WISHLIST,
    WishlistShown,
)
from domain.commands import (
    AddWishlistItem,
    CreateWishlist,
    DeleteWishlist,
    RemoveWishlistItem,
    RenameWishlist,
)
from service.actor_replies import tag_version
from service.auth import Owner, OwnerOrAdmin
from service.dependencies import Customers, WishlistsRead
from service.preconditions import IdempotencyKey, IfMatch, child_id_for
from service.schemas import (
    WishlistCreate,
    WishlistItemCreate,
    WishlistItemReply,
    WishlistList,
    WishlistReply,
    WishlistUpdate,
)

router = APIRouter(
    prefix="/api/v1/customers/{customer_id}/wishlists",
    tags=["wishlists"],
    dependencies=[OwnerOrAdmin],
)


def _wishlist(response: Response, shown: WishlistShown) -> dict[str, Any]:
    tag_version(response, shown.version)
    return {"wishlist": shown.wishlist}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WishlistReply)
async def create_wishlist(
    customer_id: uuid.UUID,
    body: WishlistCreate,
    customers: Customers,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    command = CreateWishlist(
        wishlist_id=child_id_for(str(customer_id), idempotency_key),
        name=body.name,
        idempotency_key=idempotency_key,
    )
    shown = await customers.ask(str(customer_id), CREATE_WISHLIST, command)
    assert shown.wishlist is not None  # a create answers the wishlist it made
    location = f"/api/v1/customers/{customer_id}/wishlists/{shown.wishlist['id']}"
    response.headers["Location"] = location
    if not shown.committed:
        response.headers["Idempotent-Replayed"] = "true"
    return _wishlist(response, shown)


@router.get("", response_model=WishlistList)
async def list_wishlists(customer_id: uuid.UUID, reads: WishlistsRead, caller: Owner) -> Any:
    """Every wishlist of the customer, without their items (``item_count``)."""
    lists = await reads.all(str(customer_id), caller.access)
    return {"wishlists": [wishlist.summary() for wishlist in lists.lists]}


@router.get("/{wishlist_id}", response_model=WishlistReply)
async def get_wishlist(
    customer_id: uuid.UUID,
    wishlist_id: uuid.UUID,
    reads: WishlistsRead,
    caller: Owner,
    response: Response,
) -> Any:
    wishlist = await reads.one(str(customer_id), str(wishlist_id), caller.access)
    tag_version(response, wishlist.version)
    return {"wishlist": wishlist.to_document()}


@router.patch("/{wishlist_id}", response_model=WishlistReply)
async def rename_wishlist(
    customer_id: uuid.UUID,
    wishlist_id: uuid.UUID,
    body: WishlistUpdate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> Any:
    command = RenameWishlist(wishlist_id=str(wishlist_id), name=body.name, if_match=if_match)
    return _wishlist(response, await customers.ask(str(customer_id), RENAME_WISHLIST, command))


@router.delete("/{wishlist_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_wishlist(
    customer_id: uuid.UUID,
    wishlist_id: uuid.UUID,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> None:
    command = DeleteWishlist(wishlist_id=str(wishlist_id), if_match=if_match)
    tag_version(response, (await customers.ask(str(customer_id), DELETE_WISHLIST, command)).version)


@router.post(
    "/{wishlist_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=WishlistItemReply,
    responses={200: {"description": "the product was there: the item, with what was sent"}},
)
async def add_wishlist_item(
    customer_id: uuid.UUID,
    wishlist_id: uuid.UUID,
    body: WishlistItemCreate,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    command = AddWishlistItem(
        wishlist_id=str(wishlist_id),
        item_id=child_id_for(str(wishlist_id), idempotency_key),
        product_id=body.product_id,
        variant_id=body.variant_id,
        quantity=body.quantity,
        note=body.note,
        idempotency_key=idempotency_key,
        if_match=if_match,
    )
    shown = await customers.ask(str(customer_id), ADD_WISHLIST_ITEM, command)
    assert shown.wishlist is not None
    assert shown.item_id is not None
    item = next(i for i in shown.wishlist["items"] if i["id"] == shown.item_id)
    if not shown.created:
        response.status_code = status.HTTP_200_OK
    elif not shown.committed:
        response.headers["Idempotent-Replayed"] = "true"
    tag_version(response, shown.version)
    return {"item": item, "version": shown.version}


@router.delete("/{wishlist_id}/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_wishlist_item(
    customer_id: uuid.UUID,
    wishlist_id: uuid.UUID,
    item_id: uuid.UUID,
    customers: Customers,
    response: Response,
    if_match: IfMatch,
) -> None:
    command = RemoveWishlistItem(
        wishlist_id=str(wishlist_id), item_id=str(item_id), if_match=if_match
    )
    shown = await customers.ask(str(customer_id), REMOVE_WISHLIST_ITEM, command)
    tag_version(response, shown.version)
