"""The worker's report, every few seconds, in ``worker_status`` (one row per
replica): what health needs to tell the truth about event delivery."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from observability.logging import get_logger
from observability.metrics import HEARTBEAT_AGE, STALE_OUTBOX_MARKERS
from readmodel.state_table import ensure_marker_index, stale_markers
from worker.heartbeat import Heartbeat
from worker.pacing import DATABASE_FAILURES, repeat
from worker.reconciler import Reconciler
from worker.streaming import TopicStream

log = get_logger(__name__)

_UPSERT = """
INSERT INTO worker_status AS w (
    replica, reported_at, heartbeat_age_seconds, publish_error, streams,
    projection_lag_seconds, stale_outbox_markers, oldest_outbox_marker_at, marker_error,
    drift_repaired, last_sweep_at)
VALUES ($1, now(), $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10)
ON CONFLICT (replica) DO UPDATE SET
    reported_at = now(), heartbeat_age_seconds = EXCLUDED.heartbeat_age_seconds,
    publish_error = EXCLUDED.publish_error, streams = EXCLUDED.streams,
    projection_lag_seconds = EXCLUDED.projection_lag_seconds,
    stale_outbox_markers = EXCLUDED.stale_outbox_markers,
    oldest_outbox_marker_at = EXCLUDED.oldest_outbox_marker_at,
    marker_error = EXCLUDED.marker_error,
    drift_repaired = EXCLUDED.drift_repaired, last_sweep_at = EXCLUDED.last_sweep_at
"""


@dataclasses.dataclass(eq=False)
class StatusReport:
    pool: asyncpg.Pool
    replica: str
    heartbeat: Heartbeat
    streams: Sequence[TopicStream]
    reconciler: Reconciler
    projection_lag: Callable[[], float | None]
    # Outbox markers older than this many seconds are counted as left behind.
    marker_age: float
    every: float
    _indexed: bool = dataclasses.field(default=False, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        await repeat(stop, self.every, self.report, "status report failed")

    async def report(self) -> None:
        heartbeat_age = self.heartbeat.age()
        if heartbeat_age is not None:
            HEARTBEAT_AGE.set(heartbeat_age)
        streams = {stream.topic: _stream_report(stream) for stream in self.streams}
        async with self.pool.acquire() as conn:
            markers = await self._markers(conn)
            await conn.execute(
                _UPSERT,
                self.replica,
                heartbeat_age,
                self.heartbeat.publish_error,
                json.dumps(streams),
                self.projection_lag(),
                markers.count,
                markers.oldest,
                markers.error,
                self.reconciler.repaired,
                self.reconciler.last_sweep_at,
            )

    async def _markers(self, conn: asyncpg.Connection) -> Markers:
        """Outbox markers left behind; a failure here never keeps the report from going out."""
        try:
            self._indexed = self._indexed or await ensure_marker_index(conn)
            if not self._indexed:
                return Markers(None, None, "the state store's table is not in this database")
            count, oldest = await stale_markers(conn, self.marker_age)
        except DATABASE_FAILURES as exc:
            log.warning("outbox markers could not be counted", error=type(exc).__name__)
            return Markers(None, None, f"cannot count outbox markers: {type(exc).__name__}")
        STALE_OUTBOX_MARKERS.set(count)
        return Markers(count, oldest, None)


@dataclasses.dataclass(frozen=True, slots=True)
class Markers:
    count: int | None
    oldest: datetime | None
    error: str | None


def _stream_report(stream: TopicStream) -> dict[str, object]:
    state = stream.state
    return {
        "connected": state.connected,
        "received": state.received,
        "last_error": state.last_error,
        "down_seconds": state.seconds(state.down_since),
        "failing_seconds": state.seconds(state.failing_since),
    }
