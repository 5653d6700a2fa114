"""This service's subscriptions: its own customer events (the read-model
projector, components/subscription.yaml) and the order service's events
(order statistics; the topic comes from configuration, so it is subscribed
programmatically on /dapr/subscribe)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from actors.codec import encode
from actors.invoker import SidecarUnavailable
from domain.commands import RecordOrder
from observability.logging import get_logger
from observability.metrics import (
    DEAD_LETTERS,
    EVENTS_RECEIVED,
    OUTBOX_LAG,
    PROJECTED,
    PROJECTION_LAG,
    SEGMENTS_ASSIGNED,
)
from readmodel.projection import MalformedSnapshot, SegmentCache, apply_snapshot
from security import event_signature
from service.dependencies import Deps
from service.publisher import PublishFailed

router = APIRouter(tags=["subscriptions"], include_in_schema=False)
log = get_logger(__name__)

SUCCESS = {"status": "SUCCESS"}
# A failure that a later delivery may not repeat (the database was down).
RETRY = {"status": "RETRY"}
SEGMENTS_CHANGED = "customer.segments.changed"
MAX_ORDER_TOTAL = Decimal(10) ** 9


def _segments(request: Request) -> SegmentCache:
    cache: SegmentCache = request.app.state.segment_cache
    return cache


@router.get("/dapr/subscribe")
async def subscriptions(deps: Deps) -> list[dict[str, str]]:
    settings = deps.settings
    return [
        {
            "pubsubname": settings.order_pubsub,
            "topic": settings.order_events_topic,
            "route": "/events/order-events",
        }
    ]


async def _dead_letter(deps: Deps, topic: str, raw: bytes, reason: str) -> dict[str, str]:
    """Park what cannot be applied, count it, and let the stream move on."""
    settings = deps.settings
    data = {"topic": topic, "reason": reason, "event": raw.decode(errors="replace")}
    try:
        await deps.publisher.publish(settings.dead_letter_topic, "dead_letter", topic, data)
    except PublishFailed:
        log.warning("dead letter could not be published; retrying", topic=topic)
        return RETRY
    DEAD_LETTERS.labels(topic).inc()
    log.warning("event sent to the dead-letter topic", topic=topic, reason=reason)
    return SUCCESS


@router.post("/events/customer-events")
async def on_customer_event(request: Request, deps: Deps) -> dict[str, str]:
    raw = await request.body()
    try:
        event: dict[str, Any] = json.loads(raw)
        event_type = str(event["type"])
        if event_type == SEGMENTS_CHANGED:
            return SUCCESS  # ours, derived from the projection: nothing to apply
        data = event["data"]
        # Only what this service signed may touch the read model.
        if not event_signature.is_authentic(deps.event_keys, event_type, data):
            return await _dead_letter(
                deps, "customer-events", raw, "unauthenticated: the event signature is wrong"
            )
        occurred_at = datetime.fromisoformat(data["occurred_at"])
        snapshot = data["snapshot"]
        if not isinstance(snapshot, dict) or snapshot.get("id") != data["customer_id"]:
            raise ValueError("the snapshot is not the event's customer")
    except (ValueError, KeyError, TypeError) as exc:
        return await _dead_letter(deps, "customer-events", raw, f"malformed: {exc}")
    EVENTS_RECEIVED.labels(event_type).inc()
    OUTBOX_LAG.observe(max(0.0, (datetime.now(UTC) - occurred_at).total_seconds()))
    try:
        async with deps.database.acquire() as conn, conn.transaction():
            segments = await _segments(request).get(conn)
            change = await apply_snapshot(conn, snapshot, segments)
            if change is not None and (change.added or change.removed):
                # Inside the transaction: if publishing fails, nothing is kept and
                # the redelivery tries again (a duplicate at worst, never a loss).
                await deps.publisher.publish(
                    deps.settings.events_topic,
                    SEGMENTS_CHANGED,
                    snapshot["id"],
                    {
                        "customer_id": snapshot["id"],
                        "version": snapshot["version"],
                        "added": sorted(change.added),
                        "removed": change.removed,
                    },
                )
                SEGMENTS_ASSIGNED.inc(len(change.added))
    except MalformedSnapshot as exc:
        return await _dead_letter(deps, "customer-events", raw, str(exc))
    except asyncpg.DataError as exc:
        return await _dead_letter(deps, "customer-events", raw, type(exc).__name__)
    except (OSError, asyncpg.PostgresError, PublishFailed) as exc:
        log.warning("projection failed; Dapr will redeliver", error=type(exc).__name__)
        return RETRY
    PROJECTED.labels("stale" if change is None else "applied").inc()
    if change is not None:
        PROJECTION_LAG.observe(max(0.0, (datetime.now(UTC) - occurred_at).total_seconds()))
    return SUCCESS


@router.post("/events/order-events")
async def on_order_event(request: Request, deps: Deps) -> dict[str, str]:
    """``data = {order_id, customer_id, total, placed_at}``: counted once per order."""
    raw = await request.body()
    try:
        data = json.loads(raw)["data"]
        customer_id = str(data["customer_id"])
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
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        return await _dead_letter(deps, "order-events", raw, f"malformed: {exc}")
    try:
        reply = await deps.actors.call("Customer", customer_id, "record_order", encode(command))
    except SidecarUnavailable:
        return RETRY
    if reply.get("ok"):
        return SUCCESS
    code = (reply.get("error") or {}).get("code")
    if code in ("unavailable", "conflict"):
        return RETRY
    return await _dead_letter(deps, "order-events", raw, f"refused: {code}")
