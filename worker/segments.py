"""Segments whose rules changed, evaluated again for every customer, here.

The API records the change (``updated_at``); the worker finds every segment
not evaluated since (``evaluated_at < updated_at``) each round and brings its
members up to date, one segment at a time, announcing membership changes.
A failed evaluation stays stale and is found again next round.
"""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg

from observability.logging import get_logger
from readmodel.projector import SEGMENTS_CHANGED
from readmodel.segment_evaluation import evaluate_segment, stale_segments
from service.publisher import Publisher
from worker.pacing import repeat

log = get_logger(__name__)


@dataclasses.dataclass(eq=False)
class SegmentWork:
    pool: asyncpg.Pool
    publisher: Publisher
    topic: str
    every: float = 1.0

    async def run(self, stop: asyncio.Event) -> None:
        await repeat(stop, self.every, self.round, "segment evaluation failed")

    async def round(self) -> None:
        for segment_id in await stale_segments(self.pool):
            changed = await evaluate_segment(self.pool, segment_id, self._announce)
            log.info("segment evaluated", segment_id=segment_id, changed=changed)

    async def _announce(self, customer_id: str, added: list[str], removed: list[str]) -> None:
        await self.publisher.publish(
            self.topic,
            SEGMENTS_CHANGED,
            customer_id,
            {"customer_id": customer_id, "added": added, "removed": removed},
        )
