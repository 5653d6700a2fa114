"""In-memory stand-ins for what the Customer actor's shell is handed: the state
store (documents with ETags, one event per committed transaction), the unique
key claims, the session store and the clocks; and for what the sign-in flows
are handed: throttle counters, actors called in process. Nothing here starts a
process."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import types
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from actors.document_store import ConcurrencyConflict, Loaded, OutboxEvent, StoreError
from actors.key_claims import ClaimOutcome, refusal_for
from actors.unique_key_protocol import KeyRefusal
from domain.throttles import Counter


class FakeStore:
    """The outbox-enabled store: an insert-only or ETag-guarded upsert of a
    document, and its event, in one transaction."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[dict[str, Any], str]] = {}
        self.events: list[OutboxEvent] = []
        self.loads = 0
        self.failing_loads = False
        # Entities whose companion documents a commit erased.
        self.erased_companions: list[str] = []
        # The next commit raises this instead of writing.
        self.next_commit_fails: StoreError | None = None
        # Runs once, right after the next load: another writer in between.
        self.after_next_load: Callable[[], None] | None = None
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
        if (meanwhile := self.after_next_load) is not None:
            self.after_next_load = None
            meanwhile()
        if stored is None:
            return Loaded(document=None, etag=None)
        return Loaded(document=copy.deepcopy(stored[0]), etag=stored[1])

    async def commit(
        self,
        entity_id: str,
        document: dict[str, Any],
        event: OutboxEvent,
        etag: str | None,
        erase_companions: bool = False,
    ) -> None:
        if (failure := self.next_commit_fails) is not None:
            self.next_commit_fails = None
            raise failure
        stored = self.documents.get(entity_id)
        if (stored is None) != (etag is None) or (stored is not None and stored[1] != etag):
            raise ConcurrencyConflict("the customer changed since it was loaded")
        self.put(entity_id, document)
        self.events.append(event)
        if erase_companions:
            self.erased_companions.append(entity_id)


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


class FakeSessions:
    """The session store as the actor's shell sees it: what it was told to end."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []

    async def end_all(self, customer_id: str, reason: str) -> None:
        self.ended.append((customer_id, reason))


class FakeThrottleStore:
    """Windowed counters as accounts/throttle_store.py keeps them, at ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.counters: dict[str, Counter] = {}

    async def hit(
        self, keys: Sequence[str], window: timedelta
    ) -> tuple[dict[str, Counter], datetime]:
        for key in set(keys):
            counter = self.counters.get(key)
            if counter is None or counter.resets_at <= self.now:
                counter = Counter(0, self.now + window)
            self.counters[key] = dataclasses.replace(counter, hits=counter.hits + 1)
        return {key: self.counters[key] for key in keys}, self.now

    async def read(self, key: str) -> tuple[Counter | None, datetime]:
        return self.counters.get(key), self.now

    async def extend(self, key: str, window: timedelta) -> datetime:
        counter = dataclasses.replace(self.counters[key], resets_at=self.now + window)
        self.counters[key] = counter
        return counter.resets_at

    async def clear(self, *keys: str) -> None:
        for key in keys:
            self.counters.pop(key, None)


class InProcessActors:
    """The sidecar's actor API in process: each call goes to the generated
    ``Customer`` class over handlers of that id (made on first call), with the
    request and the reply as JSON, as the wire carries them."""

    def __init__(self, handlers: Callable[[str], object]) -> None:
        self._make = handlers
        self.handlers: dict[str, object] = {}
        self.calls: list[tuple[str, str]] = []

    async def call(
        self, actor_type: str, actor_id: str, method: str, payload: Any = None
    ) -> dict[str, Any]:
        from actors.customer_actor import Customer

        self.calls.append((actor_id, method))
        handlers = self.handlers.setdefault(actor_id, self._make(actor_id))
        actor = types.SimpleNamespace(handlers=handlers, id=types.SimpleNamespace(id=actor_id))
        answer: dict[str, Any] = await getattr(Customer, method)(actor, payload)
        return answer
