"""Is event delivery alive? Dapr reports no subscription status, so the worker
publishes a small event on a topic of its own every few seconds and notes
when one arrives back through its own subscription. Heartbeats of any replica
count: one that arrives proves this replica's subscription delivers."""

from __future__ import annotations

import asyncio
import time

from observability.logging import get_logger
from service.publisher import Publisher, PublishFailed
from worker.pacing import pause
from worker.streaming import Answer, Delivery

log = get_logger(__name__)

HEARTBEAT = "customer.heartbeat"


class Heartbeat:
    def __init__(self, publisher: Publisher, topic: str, replica: str, every: float) -> None:
        self._publisher = publisher
        self.topic = topic
        self._replica = replica
        self._every = every
        self.sent_at: float | None = None
        self.received_at: float | None = None
        self.publish_error: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._publisher.publish(
                    self.topic,
                    HEARTBEAT,
                    self._replica,
                    {"replica": self._replica, "sent_at": time.time()},
                )
                self.sent_at = time.monotonic()
                self.publish_error = None
            except PublishFailed as exc:
                if self.publish_error is None:
                    log.warning("heartbeat could not be published", error=str(exc))
                self.publish_error = str(exc)
            await pause(stop, self._every)

    async def on_delivery(self, delivery: Delivery) -> Answer:
        self.received_at = time.monotonic()
        return Answer.SUCCESS

    def age(self) -> float | None:
        """Seconds since a heartbeat last came back (this process's clock); None: never."""
        return None if self.received_at is None else time.monotonic() - self.received_at
