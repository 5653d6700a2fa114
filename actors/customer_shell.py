"""The shell around ``decide`` for one customer: what the Customer actor does
with a command, with no Dapr in it (the store, the key claims and the clocks
are handed in, so unit tests run it on fakes).

A change goes: load what is stored, decide on it, claim every unique value
the change gives the customer (email, legacy id), commit the new document and
its event in one state transaction within ``FENCE`` of claiming, and only then
release the values it gave up and, if it ended every session
(domain/sessions.py), end them in the session store. A refusal or a failed
commit leaves store and topic as they were; a refusal gives back only the
claims this call took newly, a failed commit keeps them (it may have landed: a
later claimant checks the holder's document).

The shell keeps nothing between calls: every call loads the document (with
the ETag its write is guarded by; the transaction API does not return the
new one, so a copy kept after a commit could not guard the next write
anyway). Reads are answered from the stored document by the API itself
(actors/customer_reads.py), so an activated actor holds no document, and a
thousand idle ones cost little memory.

Commands made for a customer's own session are refused here if that session
ended: the decision has the document at hand, so the check costs nothing.
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
from domain.commands import (
    Command,
    CreateCustomer,
    RegisterCustomer,
    RestoreCustomer,
    UpdateCustomer,
)
from domain.decide import decide
from domain.erasure import erasure_due
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
STORE_DOWN = Refused(Refusal.UNAVAILABLE, "the state store is unavailable")


class Documents(Protocol):
    async def load(self, entity_id: str) -> Loaded: ...

    async def commit(
        self,
        entity_id: str,
        document: dict[str, Any],
        event: OutboxEvent,
        etag: str | None,
        erase_companions: bool = False,
    ) -> None: ...


class Claims(Protocol):
    async def claim(self, key: str, customer_id: str) -> ClaimOutcome: ...

    async def release(self, key: str, customer_id: str) -> None: ...


class Reminders(Protocol):
    async def set(self, actor_id: str, due: datetime | None, now: datetime) -> None:
        """Wake the actor up at ``due`` (None: never); best effort."""


class Groups(Protocol):
    async def active(self) -> frozenset[str]:
        """The customer groups a customer may be given now (actors/group_registry.py)."""


class Sessions(Protocol):
    async def end_all(self, customer_id: str, reason: str) -> None:
        """End every session of the customer (best effort: the moved epoch
        refuses their tokens anyway)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Known:
    """The stored document as one call loaded it: the customer (None: nothing is
    stored) and the ETag its write is guarded by (None: insert-only)."""

    customer: Customer | None
    etag: str | None


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
        reminders: Reminders | None = None,
        groups: Groups | None = None,
    ) -> None:
        self.customer_id = customer_id
        self._store = store
        self._keys = keys
        self._policy = policy
        self._sessions = sessions
        self._reminders = reminders
        # None: the configured groups (the policy's); else the registry's live set.
        self._groups = groups
        self._clock = clock
        self._monotonic = monotonic

    def now(self) -> datetime:
        return self._clock()

    @property
    def policy(self) -> Policy:
        return self._policy

    async def stored(self) -> Known | Refusing:
        """What is stored now, with the ETag a write is guarded by."""
        bind_contextvars(customer_id=self.customer_id)
        try:
            loaded = await self._store.load(self.customer_id)
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return STORE_DOWN
        customer = Customer.from_document(loaded.document) if loaded.document else None
        return Known(customer=customer, etag=loaded.etag)

    def allows(self, known: Known, access: Access | None) -> Refusing | None:
        """Whether a customer's session may still act (None: it may), before any
        costly step (a password check); the decision checks again."""
        if access is None:
            return None
        try:
            check_access(known.customer, access)
        except DomainError as exc:
            return refused(exc)
        return None

    async def execute(self, command: Command) -> Done | Refusing:
        known = await self.stored()
        if isinstance(known, Refused):
            return known
        return await self.run(known, command)

    async def create(self, command: Command, fingerprint: str | None) -> Done | Refusing:
        """A create. An id derived from an Idempotency-Key (``fingerprint``) may be a
        retry of a create that committed: it is decided on what is stored. A random
        id has nothing stored, so the read is skipped: the commit is insert-only and
        refuses if that guess was wrong, and the create is then decided again."""
        if fingerprint is not None:
            return await self.execute(command)
        bind_contextvars(customer_id=self.customer_id)
        done = await self.run(Known(customer=None, etag=None), command)
        if isinstance(done, Refused) and done.code is Refusal.CONFLICT:
            # The guess was wrong (or lost a race): decide on what is stored.
            return await self.execute(command)
        return done

    async def run(self, known: Known, command: Command) -> Done | Refusing:
        """Decide on ``known``, then claim, commit and remember."""
        policy = await self._policy_for(command)
        if isinstance(policy, Refused):
            return policy
        decision = self._decide(known.customer, command, policy)
        if isinstance(decision, Refused):
            return decision
        after, event = decision
        if event is None:
            # Nothing to commit: a no-op, or the retry of a request already done.
            return Done(after, None)
        if (failure := await self._commit(known, after, event)) is not None:
            return failure
        _count(event)
        await self._release(sorted(unique_keys(known.customer) - unique_keys(after)))
        before = known.customer
        if before is not None and (_epoch(before) != _epoch(after) or after.erased):
            await self._sessions.end_all(self.customer_id, event.type)
        due = erasure_due(after, self._policy)
        if self._reminders is not None and due != erasure_due(before, self._policy):
            await self._reminders.set(self.customer_id, due, event.occurred_at)
        return Done(after, event)

    async def remind(self, customer: Customer) -> None:
        """Set the erasure reminder for what ``customer`` says is due (nothing if none)."""
        due = erasure_due(customer, self._policy)
        if self._reminders is not None and due is not None:
            await self._reminders.set(self.customer_id, due, self._clock())

    async def _policy_for(self, command: Command) -> Policy | Refusing:
        """The policy, with the live customer groups for a command that gives one."""
        gives_group = isinstance(command, CreateCustomer | RegisterCustomer | RestoreCustomer) or (
            isinstance(command, UpdateCustomer) and "customer_group_id" in command.changes
        )
        if self._groups is None or not gives_group:
            return self._policy
        try:
            live = await self._groups.active()
        except StoreError as exc:
            log.warning("loading the customer groups failed", error=str(exc))
            return STORE_DOWN
        return dataclasses.replace(self._policy, customer_groups=live)

    def _decide(
        self, before: Customer | None, command: Command, policy: Policy
    ) -> Decision | Refusing:
        try:
            return decide(before, command, self._clock(), policy)
        except DomainError as exc:
            return refused(exc)

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
            # An erasure takes the customer's other documents (wishlists) with it.
            await self._store.commit(
                self.customer_id,
                after.to_document(),
                outbox,
                etag=etag,
                erase_companions=after.erased,
            )
            outcome = "committed"
        except ConcurrencyConflict as exc:
            outcome = "conflict"
            # Someone else wrote the document. The claims stay: what is stored
            # may hold them (the next claimant checks).
            return Refused(Refusal.CONFLICT, str(exc))
        except StoreError as exc:
            # The commit may or may not have landed: the next call loads it.
            log.warning("commit failed", error=str(exc))
            return STORE_DOWN
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


async def commit_one(
    store: Documents,
    entity_id: str,
    document: dict[str, Any],
    outbox: OutboxEvent,
    etag: str | None,
    what: str,
) -> Refusing | None:
    """Commit a document other than a customer's (a wishlists document, the group
    registry) with its event, guarded by ``etag``: a concurrent writer is a
    conflict, a failed store is unavailable (the next call loads what landed)."""
    try:
        await store.commit(entity_id, document, outbox, etag=etag)
    except ConcurrencyConflict as exc:
        return Refused(Refusal.CONFLICT, str(exc))
    except StoreError as exc:
        log.warning(f"{what} commit failed", error=str(exc))
        return STORE_DOWN
    EVENTS_COMMITTED.labels(outbox.type).inc()
    return None


def refused(exc: DomainError) -> Refusing:
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
