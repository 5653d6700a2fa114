"""Order statistics: each order counts once, whatever the order service redelivers."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from domain.commands import RecordOrder
from domain.errors import FieldError, InvalidFields
from domain.events import ORDER_RECORDED
from domain.model import RECENT_ORDER_IDS_KEPT, Customer
from domain.policy import Policy
from domain.transitions import Decision, advance, changed, require_customer


def decide_record_order(
    state: Customer | None, command: RecordOrder, now: datetime, policy: Policy
) -> Decision:
    customer = require_customer(state)
    stats = customer.orders
    if customer.deleted or command.order_id in stats.recorded_order_ids:
        return customer, None  # a redelivery, or a customer who is gone
    if command.total < 0:
        raise InvalidFields([FieldError("total", "cannot be negative", "invalid")])
    last = stats.last_order_at
    recorded = (*stats.recorded_order_ids, command.order_id)[-RECENT_ORDER_IDS_KEPT:]
    updated = dataclasses.replace(
        stats,
        total_orders=stats.total_orders + 1,
        total_spent=stats.total_spent + command.total,
        last_order_at=command.placed_at if last is None else max(last, command.placed_at),
        recorded_order_ids=recorded,
    )
    return changed(ORDER_RECORDED, customer, advance(customer, now, orders=updated), now)
