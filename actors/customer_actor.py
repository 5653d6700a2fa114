"""The ``Customer`` actor: one per customer id; Dapr runs one call at a time.

Each mutating method follows the same shape: decide on the in-memory state,
commit the new document and its event in one state transaction, and only then
replace the in-memory copy. A refusal or a failed commit leaves memory, store
and topic exactly as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dapr.actor import Actor, ActorInterface, actormethod
from dapr.actor.id import ActorId
from dapr.actor.runtime.context import ActorRuntimeContext
from structlog.contextvars import bind_contextvars

from actors.document_store import ConcurrencyConflict, DocumentStore, OutboxEvent, StoreError
from actors.replies import ok, refused
from domain.commands import CreateCustomer
from domain.decide import decide_create
from domain.errors import DomainError
from domain.events import CUSTOMER_CREATED, CustomerEvent
from domain.model import Customer as CustomerState
from observability.logging import get_logger
from observability.metrics import (
    ACTOR_ACTIVATIONS,
    ACTORS_ACTIVE,
    COMMIT_DURATION,
    CUSTOMERS_CREATED,
    EVENTS_COMMITTED,
)

log = get_logger(__name__)

Decision = tuple[CustomerState, CustomerEvent]


class CustomerActorInterface(ActorInterface):  # type: ignore[misc]
    """The methods the sidecar may call; their names are the wire contract."""

    @actormethod(name="create")  # type: ignore[untyped-decorator]
    async def create(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="get")  # type: ignore[untyped-decorator]
    async def get(self) -> dict[str, Any]:
        raise NotImplementedError


class Customer(Actor, CustomerActorInterface):  # type: ignore[misc]
    """Actor type ``Customer`` (the SDK names the type after the class)."""

    def __init__(
        self,
        ctx: ActorRuntimeContext,
        actor_id: ActorId,
        store: DocumentStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(ctx, actor_id)
        self._store = store
        self._clock = clock
        self._customer: CustomerState | None = None
        # The ETag of the stored document; None means "no document stored".
        self._etag: str | None = None
        # Memory mirrors the store (reads can be served from it) ...
        self._loaded = False
        # ... and _etag is current (a write can be guarded with it).
        self._etag_current = False

    @property
    def customer_id(self) -> str:
        return str(self.id.id)

    async def _load(self) -> None:
        loaded = await self._store.load(self.customer_id)
        self._customer = CustomerState.from_document(loaded.document) if loaded.document else None
        self._etag = loaded.etag
        self._loaded = self._etag_current = True

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            await self._load()

    async def _ensure_writable(self) -> None:
        if not (self._loaded and self._etag_current):
            await self._load()

    def _forget(self) -> None:
        self._loaded = self._etag_current = False

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.labels("Customer").inc()
        ACTORS_ACTIVE.labels("Customer").inc()

    async def _on_deactivate(self) -> None:
        ACTORS_ACTIVE.labels("Customer").dec()

    async def create(self, command: dict[str, Any]) -> dict[str, Any]:
        cmd = CreateCustomer.from_payload({**command, "customer_id": self.customer_id})

        def decide(state: CustomerState | None, now: datetime) -> Decision:
            return decide_create(state, cmd, now)

        if self._loaded:
            return await self._mutate(decide)
        # A new id (server-generated) has nothing stored, so the read is skipped:
        # the commit is insert-only and refuses if that guess was wrong. Then
        # the document is loaded and the command decided again on what is stored.
        self._customer, self._etag = None, None
        self._loaded = self._etag_current = True
        reply = await self._mutate(decide)
        if reply["ok"] or reply["error"]["code"] != "conflict":
            return reply
        return await self._mutate(decide)

    async def get(self) -> dict[str, Any]:
        bind_contextvars(customer_id=self.customer_id)
        try:
            await self._ensure_loaded()
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        if self._customer is None:
            return refused("not_found", f"customer {self.customer_id} does not exist")
        return ok(customer=self._customer.to_document())

    async def _mutate(
        self, decide: Callable[[CustomerState | None, datetime], Decision]
    ) -> dict[str, Any]:
        bind_contextvars(customer_id=self.customer_id)
        try:
            await self._ensure_writable()
            new_state, event = decide(self._customer, self._clock())
        except DomainError as exc:
            return refused(exc.code, exc.detail)
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        document = new_state.to_document()
        outcome = "error"
        started = time.perf_counter()
        try:
            await self._store.commit(
                self.customer_id,
                document,
                OutboxEvent(type=event.type, subject=event.customer_id, data=event.to_data()),
                etag=self._etag,
            )
            outcome = "committed"
        except ConcurrencyConflict as exc:
            outcome = "conflict"
            # Someone else wrote the document: forget our copy, reload next call.
            self._forget()
            return refused("conflict", str(exc))
        except StoreError as exc:
            log.warning("commit failed", error=str(exc))
            # The commit may or may not have landed; reload before deciding again.
            self._forget()
            return refused("unavailable", "the state store is unavailable")
        finally:
            COMMIT_DURATION.labels(outcome).observe(time.perf_counter() - started)
        EVENTS_COMMITTED.labels(event.type).inc()
        if event.type == CUSTOMER_CREATED:
            CUSTOMERS_CREATED.inc()
        self._customer = new_state
        # The store assigns a fresh ETag on every write and the transaction API
        # does not return it: reads go on from memory, the next write reloads.
        self._etag_current = False
        return ok(customer=document)
