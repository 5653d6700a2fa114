"""The shell around ``decide`` for one customer: what the Customer actor does
with a command, with no Dapr in it (the store, the key claims and the clocks
are handed in, so unit tests run it on fakes).

A change goes: load what is stored (unless known), decide on it, claim every
unique value the change gives the customer (email, legacy id), commit the new
document and its event in one state transaction within ``FENCE`` of claiming,
and only then remember the new state, release the values it gave up and, if
it ended every session (domain/sessions.py), end them in the session store. A
refusal or a failed commit leaves memory, store and topic as they were; a
refusal gives back only the claims this call took newly, a failed commit keeps
them (it may have landed: a later claimant checks the holder's document).

Reads and commands made for a customer's own session are refused here if
that session ended: the actor holds the document, so the check costs nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from structlog.contextvars import bind_contextvars

from actors.document_store import ConcurrencyConflict, Loaded, OutboxEvent, StoreError
from actors.key_claims import ClaimOutcome
from actors.protocol import FieldProblem, Refused
from domain.claims import FENCE
from domain.commands import Command
from domain.decide import decide
from domain.errors import DomainError, InvalidFields, Refusal
from domain.events import ADDRESS_CREATED, CUSTOMER_CREATED, CUSTOMER_REGISTERED, CustomerEvent
from domain.model import Customer
from domain.policy import Policy
from domain.sessions import Access, check_access
from domain.transitions import Decision
from domain.unique_keys import unique_keys
from observability.logging import get_logger
from observability.metrics import (
    ADDRESSES_CREATED,
    COMMIT_DURATION,
    CUSTOMERS_CREATED,
    EVENTS_COMMITTED,
)

log = get_logger(__name__)

Refusing = Refused[Refusal]
_STORE_DOWN = Refused(Refusal.UNAVAILABLE, "the state store is unavailable")


class Documents(Protocol):
    async def load(self, entity_id: str) -> Loaded: ...

    async def commit(
        self, entity_id: str, document: dict[str, Any], event: OutboxEvent, etag: str | None
    ) -> None: ...


class Claims(Protocol):
    async def claim(self, key: str, customer_id: str) -> ClaimOutcome: ...

    async def release(self, key: str, customer_id: str) -> None: ...


class Sessions(Protocol):
    async def end_all(self, customer_id: str, reason: str) -> None:
        """End every session of the customer (best effort: the moved epoch
        refuses their tokens anyway)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Known:
    """What the actor knows of the stored document: the customer (None: nothing
    is stored) and its ETag, which guards a write only while ``writable``."""

    customer: Customer | None
    etag: str | None
    # The store assigns a fresh ETag on every write and the transaction API
    # does not return it: after a commit, reads go on from memory, writes reload.
    writable: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Done:
    """A command the decision accepted: the state after it and its event, if any."""

    state: Customer
    event: CustomerEvent | None

    @property
    def committed(self) -> bool:
        return self.event is not None


class CustomerShell:
    def __init__(
        self,
        customer_id: str,
        store: Documents,
        keys: Claims,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        *,
        sessions: Sessions,
    ) -> None:
        self.customer_id = customer_id
        self._store = store
        self._keys = keys
        self._policy = policy
        self._sessions = sessions
        self._clock = clock
        self._monotonic = monotonic
        # None: nothing known; the next call loads.
        self._known: Known | None = None

    def now(self) -> datetime:
        return self._clock()

    # -- reads -----------------------------------------------------------------------

    async def read(
        self, include_deleted: bool = False, access: Access | None = None
    ) -> Customer | Refusing:
        """The customer as stored (from memory once loaded), if ``access`` may see it."""
        bind_contextvars(customer_id=self.customer_id)
        if self._known is None and (failure := await self._load()) is not None:
            return failure
        assert self._known is not None
        customer = self._known.customer
        if (refused := self.allows(self._known, access)) is not None:
            return refused
        if customer is None:
            return Refused(Refusal.NOT_FOUND, f"customer {self.customer_id} does not exist")
        if customer.deleted and not include_deleted:
            return Refused(Refusal.DELETED, f"customer {self.customer_id} is deleted")
        return customer

    # -- writes ----------------------------------------------------------------------

    async def for_write(self) -> Known | Refusing:
        """What is stored, with an ETag a write can be guarded with."""
        bind_contextvars(customer_id=self.customer_id)
        if (self._known is None or not self._known.writable) and (
            failure := await self._load()
        ) is not None:
            return failure
        assert self._known is not None
        return self._known

    def allows(self, known: Known, access: Access | None) -> Refusing | None:
        """Whether a customer's session may still act (None: it may), before any
        costly step (a password check); the decision checks again."""
        if access is None:
            return None
        try:
            check_access(known.customer, access)
        except DomainError as exc:
            return _refused(exc)
        return None

    async def execute(self, command: Command) -> Done | Refusing:
        known = await self.for_write()
        if isinstance(known, Refused):
            return known
        return await self.run(known, command)

    async def create(self, command: Command, fingerprint: str | None) -> Done | Refusing:
        """A create. An id derived from an Idempotency-Key (``fingerprint``) may be a
        retry of a create that committed: it is decided on what is stored. A random
        id has nothing stored, so the read is skipped: the commit is insert-only and
        refuses if that guess was wrong, and the create is then decided again."""
        if self._known is not None or fingerprint is not None:
            return await self.execute(command)
        self._known = Known(customer=None, etag=None, writable=True)
        done = await self.execute(command)
        if not isinstance(done, Refused):
            return done
        # The guess may be what made it fail: nothing in memory is known now.
        self._known = None
        if done.code is not Refusal.CONFLICT:
            return done
        return await self.execute(command)

    async def run(self, known: Known, command: Command) -> Done | Refusing:
        """Decide on ``known``, then claim, commit and remember."""
        decision = self._decide(known.customer, command)
        if isinstance(decision, Refused):
            return decision
        after, event = decision
        if event is None:
            # Nothing to commit: a no-op, or the retry of a request already done.
            return Done(after, None)
        if (failure := await self._commit(known, after, event)) is not None:
            return failure
        self._known = Known(customer=after, etag=None, writable=False)
        _count(event)
        await self._release(sorted(unique_keys(known.customer) - unique_keys(after)))
        if known.customer is not None and _epoch(known.customer) != _epoch(after):
            await self._sessions.end_all(self.customer_id, event.type)
        return Done(after, event)

    def _decide(self, before: Customer | None, command: Command) -> Decision | Refusing:
        try:
            return decide(before, command, self._clock(), self._policy)
        except DomainError as exc:
            return _refused(exc)

    async def _commit(self, known: Known, after: Customer, event: CustomerEvent) -> Refusing | None:
        """Claim what the change gains, then write, within ``FENCE`` of claiming."""
        claimed_at = self._monotonic()
        failure, taken = await self._claim(sorted(unique_keys(after) - unique_keys(known.customer)))
        if failure is not None:
            return failure
        if self._monotonic() - claimed_at > FENCE.total_seconds():
            # Too late to commit: a stale claim may already have passed on.
            await self._release(taken)
            return Refused(
                Refusal.UNAVAILABLE, "claiming the customer's unique values took too long"
            )
        return await self._write(known.etag, after, event)

    async def _write(
        self, etag: str | None, after: Customer, event: CustomerEvent
    ) -> Refusing | None:
        outcome = "error"
        started = time.perf_counter()
        outbox = OutboxEvent(type=event.type, subject=event.customer_id, data=event.to_data())
        try:
            await self._store.commit(self.customer_id, after.to_document(), outbox, etag=etag)
            outcome = "committed"
        except ConcurrencyConflict as exc:
            outcome = "conflict"
            # Someone else wrote the document: forget our copy, reload next call.
            # The claims stay: what is stored may hold them (the next claimant checks).
            self._known = None
            return Refused(Refusal.CONFLICT, str(exc))
        except StoreError as exc:
            log.warning("commit failed", error=str(exc))
            # The commit may or may not have landed; reload before deciding again.
            self._known = None
            return _STORE_DOWN
        finally:
            COMMIT_DURATION.labels(outcome).observe(time.perf_counter() - started)
        return None

    async def _claim(self, keys: list[str]) -> tuple[Refusing | None, list[str]]:
        """Claim every key, or none of them and say why.

        On a refusal only the claims taken by this call are given back: a key
        this customer already held (a retry of a change that committed) stays.
        """
        taken: list[str] = []
        for key in keys:
            outcome = await self._keys.claim(key, self.customer_id)
            if outcome.refused is not None:
                await self._release(taken)
                return outcome.refused, []
            if outcome.newly:
                taken.append(key)
        return None, taken

    async def _release(self, keys: list[str]) -> None:
        for key in keys:
            await self._keys.release(key, self.customer_id)

    async def _load(self) -> Refusing | None:
        try:
            loaded = await self._store.load(self.customer_id)
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return _STORE_DOWN
        customer = Customer.from_document(loaded.document) if loaded.document else None
        self._known = Known(customer=customer, etag=loaded.etag, writable=True)
        return None


def _refused(exc: DomainError) -> Refusing:
    if isinstance(exc, InvalidFields):
        problems = tuple(FieldProblem(e.field, e.message, e.code) for e in exc.errors)
        return Refused(exc.code, exc.detail, problems)
    return Refused(exc.code, exc.detail)


def _epoch(customer: Customer) -> int:
    return customer.credentials.session_epoch


def _count(event: CustomerEvent) -> None:
    EVENTS_COMMITTED.labels(event.type).inc()
    if event.type in (CUSTOMER_CREATED, CUSTOMER_REGISTERED):
        CUSTOMERS_CREATED.inc()
    elif event.type == ADDRESS_CREATED:
        ADDRESSES_CREATED.inc()
