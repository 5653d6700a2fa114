"""The ``UniqueKey`` actor: one per unique value (a normalized email, a legacy
id), keyed by its hash. Dapr runs one call at a time per key, so two customers
asking for the same email are answered in turn; the rules are in domain.claims.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from actors.claim_store import ClaimStore
from actors.document_store import ConcurrencyConflict, DocumentStore, StoreError
from actors.hosting import actor_class
from actors.protocol import Refused
from actors.unique_key_protocol import UNIQUE_KEY, Granted, KeyRefusal, KeyRequest, Released
from domain.claims import Claim, Verdict, judge
from domain.model import Customer
from domain.unique_keys import unique_keys
from observability.logging import get_logger

log = get_logger(__name__)

_UNAVAILABLE = Refused(KeyRefusal.UNAVAILABLE, "the state store is unavailable")


class UniqueKeyShell:
    """The methods of one key's actor (``key`` is the actor id)."""

    def __init__(
        self,
        key: str,
        claims: ClaimStore,
        documents: DocumentStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = key
        self._claims = claims
        self._documents = documents
        self._clock = clock

    async def claim(self, request: KeyRequest) -> Granted | Refused[KeyRefusal]:
        """Give the key to the customer unless a live customer holds it."""
        now = self._clock()
        try:
            loaded = await self._claims.load(self.key)
            current = Claim.from_document(loaded.document) if loaded.document else None
            verdict = judge(current, request.customer_id, now)
            if verdict is Verdict.VERIFY:
                assert current is not None
                if await self._still_held_by(current.customer_id):
                    verdict = Verdict.TAKEN
            if verdict is Verdict.TAKEN:
                return Refused(KeyRefusal.TAKEN, "the value belongs to another customer")
            claim = Claim(request.customer_id, now).to_document()
            await self._claims.save(self.key, claim, loaded.etag)
        except ConcurrencyConflict:
            return Refused(KeyRefusal.CONFLICT, "the claim changed concurrently")
        except StoreError as exc:
            log.warning("claim failed", error=str(exc))
            return _UNAVAILABLE
        return Granted(renewed=verdict is Verdict.YOURS)

    async def release(self, request: KeyRequest) -> Released | Refused[KeyRefusal]:
        """Free the key if the customer holds it; anyone else's claim stays."""
        try:
            loaded = await self._claims.load(self.key)
            if loaded.document is None or loaded.etag is None:
                return Released()
            if Claim.from_document(loaded.document).customer_id == request.customer_id:
                await self._claims.delete(self.key, loaded.etag)
        except StoreError as exc:
            log.warning("release failed", error=str(exc))
            return _UNAVAILABLE
        return Released()

    async def _still_held_by(self, customer_id: str) -> bool:
        loaded = await self._documents.load(customer_id)
        if loaded.document is None:
            return False
        return self.key in unique_keys(Customer.from_document(loaded.document))


UniqueKey = actor_class(UNIQUE_KEY, UniqueKeyShell)
