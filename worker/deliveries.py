"""What the worker does with each delivered event.

Customer events go to the projector; order events become a ``record_order``
command to the customer's actor. A transient failure is retried here a few
times (a database blip should not wait for Dapr's redelivery); what can never
be applied is published to the dead-letter topic with the reason, and the
stream moves on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.client import ActorClient
from actors.codec import UnexpectedReply
from actors.customer_protocol import RECORD_ORDER
from actors.invoker import SidecarUnavailable
from actors.protocol import Refused
from domain.commands import RecordOrder
from domain.errors import Refusal
from observability.logging import get_logger
from observability.metrics import DEAD_LETTERS
from readmodel.projector import Event, Outcome, Projector, Verdict, decode
from service.publisher import Publisher, PublishFailed
from worker.streaming import Answer, Delivery

log = get_logger(__name__)

MAX_ORDER_TOTAL = Decimal(10) ** 9
# Pauses between attempts of a transient failure, before Dapr's redelivery.
RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0)


async def with_retries(attempt: Callable[[], Awaitable[Outcome]]) -> Outcome:
    outcome = await attempt()
    for pause in RETRY_PAUSES:
        if outcome.verdict is not Verdict.RETRY:
            break
        await asyncio.sleep(pause)
        outcome = await attempt()
    return outcome


class Deliveries:
    def __init__(
        self,
        projector: Projector,
        customers: ActorClient[Refusal],
        publisher: Publisher,
        dead_letter_topic: str,
    ) -> None:
        self._projector = projector
        self._customers = customers
        self._publisher = publisher
        self._dead_letter_topic = dead_letter_topic

    async def customer_event(self, delivery: Delivery) -> Answer:
        event = Event(delivery.type, decode(delivery.data))
        outcome = await with_retries(lambda: self._projector.handle(event))
        return await self._answer(delivery, outcome)

    async def order_event(self, delivery: Delivery) -> Answer:
        try:
            customer_id, command = parse_order(decode(delivery.data))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            return await self._answer(delivery, Outcome(Verdict.DEAD_LETTER, f"malformed: {exc}"))
        outcome = await with_retries(lambda: self._record(customer_id, command))
        return await self._answer(delivery, outcome)

    async def _record(self, customer_id: str, command: RecordOrder) -> Outcome:
        try:
            reply = await self._customers.call(customer_id, RECORD_ORDER, command)
        except SidecarUnavailable as exc:
            return Outcome(Verdict.RETRY, str(exc))
        except UnexpectedReply as exc:
            return Outcome(Verdict.DEAD_LETTER, f"refused: {exc}")
        if not isinstance(reply, Refused):
            return Outcome(Verdict.APPLIED)
        if reply.code in (Refusal.UNAVAILABLE, Refusal.CONFLICT):
            return Outcome(Verdict.RETRY, str(reply.code))
        return Outcome(Verdict.DEAD_LETTER, f"refused: {reply.code}")

    async def _answer(self, delivery: Delivery, outcome: Outcome) -> Answer:
        if outcome.verdict is Verdict.RETRY:
            log.warning(
                "event not applied; Dapr will redeliver",
                topic=delivery.topic,
                reason=outcome.reason,
            )
            return Answer.RETRY
        if outcome.verdict is not Verdict.DEAD_LETTER:
            return Answer.SUCCESS
        letter = {
            "topic": delivery.topic,
            "reason": outcome.reason,
            "event": json.dumps(
                {
                    "id": delivery.id,
                    "type": delivery.type,
                    "source": delivery.source,
                    "data": delivery.data.decode(errors="replace"),
                }
            ),
        }
        try:
            await self._publisher.publish(
                self._dead_letter_topic, "dead_letter", delivery.topic, letter
            )
        except PublishFailed:
            log.warning("dead letter could not be published; retrying", topic=delivery.topic)
            return Answer.RETRY
        DEAD_LETTERS.labels(delivery.topic).inc()
        log.warning(
            "event sent to the dead-letter topic", topic=delivery.topic, reason=outcome.reason
        )
        return Answer.SUCCESS


def parse_order(data: Any) -> tuple[str, RecordOrder]:
    """``data = {order_id, customer_id, total, placed_at}`` of the order service."""
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    command = RecordOrder(
        order_id=str(data["order_id"]),
        total=Decimal(str(data["total"])),
        placed_at=datetime.fromisoformat(str(data["placed_at"])),
    )
    if command.placed_at.tzinfo is None:
        raise ValueError("placed_at needs a time zone")
    # Money with cents, within what the read model's numeric(14, 2) holds.
    if not (command.total.is_finite() and 0 <= command.total < MAX_ORDER_TOTAL):
        raise ValueError("total must be an amount from 0 to 10^9")
    if command.total != command.total.quantize(Decimal("0.01")):
        raise ValueError("total has more than two decimals")
    customer_id = str(data["customer_id"])
    # It becomes an actor id in a sidecar URL: a customer id, and nothing else.
    if str(uuid.UUID(customer_id)) != customer_id:
        raise ValueError("customer_id is not a customer id")
    return customer_id, command
