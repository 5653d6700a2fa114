"""The shell around the wishlist decisions of one customer (domain/wishlists.py).

Run by the customer's actor, so serialized with every other change of the
customer. It loads the customer document (is the customer live, may this
session act?) and the customer's wishlists document, decides, and commits the
wishlists document and its event in ONE state transaction: a single upserted
key (the outbox publishes every upsert of a transaction), guarded by the ETag
it loaded (insert-only when there was none). The customer document is never
written here, so its version and events do not move with wishlists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from actors.customer_shell import STORE_DOWN, Documents, Refusing, commit_one, refused
from actors.document_store import OutboxEvent, StoreError
from domain.commands import WishlistCommand
from domain.errors import DomainError
from domain.model import Customer
from domain.policy import Policy
from domain.wishlists import WishlistDecision, Wishlists, decide_wishlists
from observability.logging import get_logger

log = get_logger(__name__)


class WishlistShell:
    def __init__(
        self,
        customer_id: str,
        customers: Documents,
        wishlists: Documents,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.customer_id = customer_id
        self._customers = customers
        self._wishlists = wishlists
        self._policy = policy
        self._clock = clock

    async def execute(self, command: WishlistCommand) -> WishlistDecision | Refusing:
        try:
            customer_doc = (await self._customers.load(self.customer_id)).document
            stored = await self._wishlists.load(self.customer_id)
        except StoreError as exc:
            log.warning("loading the customer's wishlists failed", error=str(exc))
            return STORE_DOWN
        customer = Customer.from_document(customer_doc) if customer_doc else None
        lists = Wishlists.from_document(self.customer_id, stored.document)
        try:
            decision = decide_wishlists(customer, lists, command, self._clock(), self._policy)
        except DomainError as exc:
            return refused(exc)
        event = decision.event
        if event is None:
            return decision
        outbox = OutboxEvent(type=event.type, subject=self.customer_id, data=event.to_data())
        document = decision.after.to_document()
        failure = await commit_one(
            self._wishlists, self.customer_id, document, outbox, stored.etag, "wishlist"
        )
        return decision if failure is None else failure
