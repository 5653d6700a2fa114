"""The worker's report, every few seconds, in ``worker_status`` (one row per
replica): what health needs to tell the truth about event delivery."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from observability.logging import get_logger
from observability.metrics import HEARTBEAT_AGE, STALE_OUTBOX_MARKERS
from readmodel.state_table import ensure_marker_index, stale_markers
from worker.heartbeat import Heartbeat
from worker.pacing import repeat
from worker.reconciler import Reconciler
from worker.streaming import TopicStream

log = get_logger(__name__)

_UPSERT = """
INSERT INTO worker_status AS w (
    replica, reported_at, heartbeat_sent_at, heartbeat_received_at, publish_error, streams,
    projection_lag_seconds, stale_outbox_markers, oldest_outbox_marker_at, drift_repaired,
    last_sweep_at)
VALUES ($1, now(), $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10)
ON CONFLICT (replica) DO UPDATE SET
    reported_at = now(), heartbeat_sent_at = EXCLUDED.heartbeat_sent_at,
    heartbeat_received_at = EXCLUDED.heartbeat_received_at,
    publish_error = EXCLUDED.publish_error, streams = EXCLUDED.streams,
    projection_lag_seconds = EXCLUDED.projection_lag_seconds,
    stale_outbox_markers = EXCLUDED.stale_outbox_markers,
    oldest_outbox_marker_at = EXCLUDED.oldest_outbox_marker_at,
    drift_repaired = EXCLUDED.drift_repaired, last_sweep_at = EXCLUDED.last_sweep_at
"""


def _moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


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
        heartbeat = self.heartbeat
        if heartbeat.received_at is not None:
            HEARTBEAT_AGE.set(time.time() - heartbeat.received_at)
        streams = {
            stream.topic: {
                "connected": stream.state.connected,
                "received": stream.state.received,
                "last_error": stream.state.last_error,
            }
            for stream in self.streams
        }
        async with self.pool.acquire() as conn:
            markers, oldest = 0, None
            self._indexed = self._indexed or await ensure_marker_index(conn)
            if self._indexed:
                markers, oldest = await stale_markers(conn, self.marker_age)
            STALE_OUTBOX_MARKERS.set(markers)
            await conn.execute(
                _UPSERT,
                self.replica,
                _moment(heartbeat.sent_at),
                _moment(heartbeat.received_at),
                heartbeat.publish_error,
                json.dumps(streams),
                self.projection_lag(),
                markers,
                oldest,
                self.reconciler.repaired,
                self.reconciler.last_sweep_at,
            )
