"""The ``UniqueKey`` actor: one per unique value (a normalized email, a legacy
id), keyed by its hash. Dapr runs one call at a time per key, so two customers
asking for the same email are answered in turn; the rules are in domain.claims.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dapr.actor import Actor, ActorInterface, actormethod
from dapr.actor.id import ActorId
from dapr.actor.runtime.context import ActorRuntimeContext

from actors.claim_store import ClaimStore
from actors.document_store import ConcurrencyConflict, DocumentStore, StoreError
from actors.replies import ok, refused
from domain.claims import Claim, Verdict, judge
from domain.model import Customer
from domain.unique_keys import unique_keys
from observability.logging import get_logger

log = get_logger(__name__)


class UniqueKeyInterface(ActorInterface):  # type: ignore[misc]
    @actormethod(name="claim")  # type: ignore[untyped-decorator]
    async def claim(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="release")  # type: ignore[untyped-decorator]
    async def release(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class UniqueKey(Actor, UniqueKeyInterface):  # type: ignore[misc]
    def __init__(
        self,
        ctx: ActorRuntimeContext,
        actor_id: ActorId,
        claims: ClaimStore,
        documents: DocumentStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(ctx, actor_id)
        self._claims = claims
        self._documents = documents
        self._clock = clock

    @property
    def key(self) -> str:
        return str(self.id.id)

    async def claim(self, request: dict[str, Any]) -> dict[str, Any]:
        """Give the key to ``customer_id`` unless a live customer holds it."""
        customer_id = str(request["customer_id"])
        now = self._clock()
        try:
            loaded = await self._claims.load(self.key)
            current = Claim.from_document(loaded.document) if loaded.document else None
            verdict = judge(current, customer_id, now)
            if verdict is Verdict.VERIFY:
                assert current is not None
                if await self._still_held_by(current.customer_id):
                    verdict = Verdict.TAKEN
            if verdict is Verdict.TAKEN:
                return refused("taken", "the value belongs to another customer")
            await self._claims.save(self.key, Claim(customer_id, now).to_document(), loaded.etag)
        except ConcurrencyConflict:
            return refused("conflict", "the claim changed concurrently")
        except StoreError as exc:
            log.warning("claim failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        return ok(renewed=verdict is Verdict.YOURS)

    async def release(self, request: dict[str, Any]) -> dict[str, Any]:
        """Free the key if ``customer_id`` holds it; anyone else's claim stays."""
        customer_id = str(request["customer_id"])
        try:
            loaded = await self._claims.load(self.key)
            if loaded.document is None or loaded.etag is None:
                return ok()
            if Claim.from_document(loaded.document).customer_id == customer_id:
                await self._claims.delete(self.key, loaded.etag)
        except StoreError as exc:
            log.warning("release failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        return ok()

    async def _still_held_by(self, customer_id: str) -> bool:
        loaded = await self._documents.load(customer_id)
        if loaded.document is None:
            return False
        return self.key in unique_keys(Customer.from_document(loaded.document))
