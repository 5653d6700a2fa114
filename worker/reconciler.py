"""The reconciler's loop: sweep the stored documents, repair what drifted.

For each customer whose committed version is missing from the read model,
its current snapshot is published again (``customer.resynced``, signed and
versioned, so every subscriber applies it idempotently) and projected here at
once. A sweep visits ``batch`` documents per ``pause``; when it reaches the
end it starts over.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.events import CUSTOMER_RESYNCED
from domain.model import timestamp
from observability.logging import get_logger
from observability.metrics import RECONCILE_DRIFT, RECONCILE_SWEEPS, RECONCILE_UNREPAIRABLE
from readmodel.projection import active_segments, advance_if_unchanged
from readmodel.projector import PERMANENT, ProjectionRetry, Projector
from readmodel.reconcile import Drift, Erasures, next_batch
from readmodel.state_table import database_now, delete_claims_of_erased
from service.publisher import Publisher, PublishFailed
from worker.pacing import repeat

log = get_logger(__name__)


@dataclasses.dataclass(eq=False)
class Reconciler:
    pool: asyncpg.Pool
    projector: Projector
    publisher: Publisher
    topic: str
    batch: int
    # Seconds between batches.
    interval: float
    # How old a write must be before its missing event counts as lost.
    grace: timedelta
    # Erases a customer if its erasure is due (the actor decides), and how long a
    # soft-deleted customer is kept: the sweep backs up the erasure reminders.
    erase: Callable[[str], Awaitable[None]] | None = None
    retention: timedelta | None = None
    # How late a due erasure must be before the sweep makes it (its reminder first).
    erasure_lag: timedelta = timedelta(0)
    repaired: int = dataclasses.field(default=0, init=False)
    # The first whole sweep after a start also hands every upcoming erasure to its
    # actor, which sets its reminder again: customers soft-deleted before reminders
    # existed get theirs, and so does one whose reminder was lost.
    _reminded: bool = dataclasses.field(default=False, init=False)
    last_sweep_at: datetime | None = dataclasses.field(default=None, init=False)
    _after: str = dataclasses.field(default="", init=False)

    async def run(self, stop: asyncio.Event) -> None:
        await repeat(stop, self.interval, self._next_batch, "reconciliation paused")

    async def _next_batch(self) -> None:
        self._after = await self._step(self._after)

    async def sweep(self) -> int:
        """One whole sweep now (for commands and tests): the repairs made."""
        before, after = self.repaired, ""
        while True:
            after = await self._step(after)
            if not after:
                return self.repaired - before

    async def _step(self, after: str) -> str:
        async with self.pool.acquire() as conn:
            # The database's clock: the one the documents' write times are on.
            now = await database_now(conn)
            erasures = None
            if self.erase is not None and self.retention is not None:
                erasures = Erasures(self.retention, now - self.erasure_lag, not self._reminded)
            batch = await next_batch(conn, after, self.batch, now - self.grace, erasures)
        for drift in batch.drifts:
            await self._repair_one(drift)
        for customer_id in batch.due:
            assert self.erase is not None
            await self.erase(customer_id)
        for bad in batch.unreadable:
            self._unrepairable(bad.customer_id, bad.reason)
        if batch.next_key is None:
            await self._release_claims_of_erased()
            self._reminded = True
            self.last_sweep_at = datetime.now(UTC)
            RECONCILE_SWEEPS.inc()
            return ""
        return batch.next_key

    async def _release_claims_of_erased(self) -> None:
        """Once a sweep: claims naming an erased customer (whose release failed) go."""
        try:
            async with self.pool.acquire() as conn:
                released = await delete_claims_of_erased(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The sweep is complete all the same; the next one tries again.
            log.warning("claims of erased customers were not looked for", error=str(exc))
            return
        if released:
            log.info("claims of erased customers deleted", count=len(released))

    async def _repair_one(self, drift: Drift) -> None:
        """Repair one customer; whatever happens, the sweep goes on past it."""
        try:
            await self._repair(drift)
        except ProjectionRetry as exc:
            log.warning("a drifted customer will be repaired next sweep", error=str(exc))
        except PERMANENT as exc:
            self._unrepairable(drift.customer_id, f"{type(exc).__name__}: {exc}")

    def _unrepairable(self, customer_id: str, reason: str) -> None:
        RECONCILE_UNREPAIRABLE.inc()
        log.error("a stored customer cannot be projected", customer_id=customer_id, reason=reason)

    async def _advanced_here(self, drift: Drift) -> bool:
        """A row that equals the document but for its version (the events it missed
        carried no snapshot) is moved to the document's version here: nothing is
        published, so no snapshot (personal data) goes out again."""
        if drift.projected_version is None:
            return False
        async with self.pool.acquire() as conn:
            segments = await active_segments(conn)
            if not await advance_if_unchanged(conn, drift.snapshot, segments):
                return False
        self._repaired(drift, "drift repaired here (only the version was behind)")
        return True

    async def _repair(self, drift: Drift) -> None:
        if await self._advanced_here(drift):
            return
        data = {
            "customer_id": drift.customer_id,
            "version": drift.stored_version,
            "occurred_at": timestamp(datetime.now(UTC)),
            "changes": {},
            "snapshot": drift.snapshot,
        }
        try:
            await self.publisher.publish(self.topic, CUSTOMER_RESYNCED, drift.customer_id, data)
        except PublishFailed as exc:
            log.warning("a drifted customer could not be published again", error=str(exc))
            return  # the next sweep finds it again
        await self.projector.project(drift.snapshot)
        self._repaired(drift, "drift repaired")

    def _repaired(self, drift: Drift, how: str) -> None:
        self.repaired += 1
        RECONCILE_DRIFT.inc()
        log.info(
            how,
            customer_id=drift.customer_id,
            stored_version=drift.stored_version,
            projected_version=drift.projected_version,
        )
