"""This service's own subscription to customer-events (components/subscription.yaml).

For now it measures what operators need to see: how long an event takes from
its commit (``occurred_at``) to delivery, and how many of each type arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from observability.logging import get_logger
from observability.metrics import EVENTS_RECEIVED, OUTBOX_LAG

router = APIRouter(tags=["subscriptions"], include_in_schema=False)
log = get_logger(__name__)

SUCCESS = {"status": "SUCCESS"}
# Malformed events are not retried: redelivery cannot repair them.
DROP = {"status": "DROP"}


@router.post("/events/customer-events")
async def on_customer_event(request: Request) -> dict[str, str]:
    try:
        event: dict[str, Any] = await request.json()
        event_type = str(event["type"])
        occurred_at = datetime.fromisoformat(event["data"]["occurred_at"])
    except (ValueError, KeyError, TypeError):
        log.warning("dropping a malformed customer event")
        return DROP
    EVENTS_RECEIVED.labels(event_type).inc()
    OUTBOX_LAG.observe(max(0.0, (datetime.now(UTC) - occurred_at).total_seconds()))
    return SUCCESS
