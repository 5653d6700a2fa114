"""Background re-evaluation of segments, one task per segment at a time."""

from __future__ import annotations

import asyncio

import asyncpg

from observability.logging import get_logger
from readmodel.segment_evaluation import evaluate_segment, stale_segments
from service.publisher import Publisher

log = get_logger(__name__)

SEGMENTS_CHANGED = "customer.segments.changed"


class SegmentJobs:
    def __init__(self, pool: asyncpg.Pool, publisher: Publisher, topic: str) -> None:
        self._pool = pool
        self._publisher = publisher
        self._topic = topic
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def evaluate(self, segment_id: str) -> None:
        """Start (or queue one more) evaluation of ``segment_id``."""
        if segment_id in self._running:
            self._again.add(segment_id)
            return
        self._running[segment_id] = asyncio.create_task(self._run(segment_id))

    async def resume(self) -> None:
        try:
            for segment_id in await stale_segments(self._pool):
                self.evaluate(segment_id)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("could not look for segments to evaluate", error=type(exc).__name__)

    async def _announce(self, customer_id: str, added: list[str], removed: list[str]) -> None:
        await self._publisher.publish(
            self._topic,
            SEGMENTS_CHANGED,
            customer_id,
            {"customer_id": customer_id, "added": added, "removed": removed},
        )

    async def _run(self, segment_id: str) -> None:
        try:
            while True:
                self._again.discard(segment_id)
                changed = await evaluate_segment(self._pool, segment_id, self._announce)
                log.info("segment evaluated", segment_id=segment_id, changed=changed)
                if segment_id not in self._again:
                    break
        except Exception:
            # The segment stays stale and is resumed at the next start.
            log.exception("segment evaluation failed", segment_id=segment_id)
        finally:
            self._running.pop(segment_id, None)

    async def cancel(self, segment_id: str) -> None:
        """Stop the evaluation of ``segment_id`` (if one runs) and wait until it has:
        its open batch is rolled back, so it holds no lock any more."""
        self._again.discard(segment_id)
        task = self._running.get(segment_id)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        log.info("segment evaluation cancelled", segment_id=segment_id)

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def wait_idle(self) -> None:
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
