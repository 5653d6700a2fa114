"""In-memory stand-ins for what the Customer actor's shell is handed: the state
store (documents with ETags, one event per committed transaction), the unique
key claims and the clocks. Nothing here starts a process."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from actors.document_store import ConcurrencyConflict, Loaded, OutboxEvent, StoreError
from actors.key_claims import ClaimOutcome, refusal_for
from actors.unique_key_protocol import KeyRefusal


class FakeStore:
    """The outbox-enabled store: an insert-only or ETag-guarded upsert of a
    document, and its event, in one transaction."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[dict[str, Any], str]] = {}
        self.events: list[OutboxEvent] = []
        self.loads = 0
        self.failing_loads = False
        # The next commit raises this instead of writing.
        self.next_commit_fails: StoreError | None = None
        self._etags = (f"etag-{n}" for n in itertools.count(1))

    def put(self, entity_id: str, document: dict[str, Any]) -> None:
        """Another writer stores ``document`` behind the actor's back."""
        self.documents[entity_id] = (copy.deepcopy(document), next(self._etags))

    def document(self, entity_id: str) -> dict[str, Any] | None:
        stored = self.documents.get(entity_id)
        return None if stored is None else stored[0]

    async def load(self, entity_id: str) -> Loaded:
        self.loads += 1
        if self.failing_loads:
            raise StoreError("state get answered 500")
        stored = self.documents.get(entity_id)
        if stored is None:
            return Loaded(document=None, etag=None)
        return Loaded(document=copy.deepcopy(stored[0]), etag=stored[1])

    async def commit(
        self, entity_id: str, document: dict[str, Any], event: OutboxEvent, etag: str | None
    ) -> None:
        if (failure := self.next_commit_fails) is not None:
            self.next_commit_fails = None
            raise failure
        stored = self.documents.get(entity_id)
        if (stored is None) != (etag is None) or (stored is not None and stored[1] != etag):
            raise ConcurrencyConflict("the customer changed since it was loaded")
        self.put(entity_id, document)
        self.events.append(event)


class FakeClaims:
    """Unique keys and who holds them; a claim can be made to take a while."""

    def __init__(self, clock: MonotonicClock | None = None) -> None:
        self.holders: dict[str, str] = {}
        self.released: list[str] = []
        self.refusing: dict[str, KeyRefusal] = {}
        self._clock = clock
        self.claim_takes = 0.0

    async def claim(self, key: str, customer_id: str) -> ClaimOutcome:
        if self._clock is not None:
            self._clock.now += self.claim_takes
        if (reason := self.refusing.get(key)) is not None:
            return ClaimOutcome(refusal_for(reason, key))
        holder = self.holders.get(key)
        if holder is None:
            self.holders[key] = customer_id
            return ClaimOutcome(None, newly=True)
        if holder == customer_id:
            return ClaimOutcome(None, newly=False)  # held already: renewed
        return ClaimOutcome(refusal_for(KeyRefusal.TAKEN, key))

    async def release(self, key: str, customer_id: str) -> None:
        if self.holders.get(key) == customer_id:
            del self.holders[key]
            self.released.append(key)


class MonotonicClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
