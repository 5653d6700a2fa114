"""Notices: events that tell a customer something without changing it.

Someone tried to register with the customer's email; the sign-in of its email
was locked. The notification service acts on the event. Every event is one
committed change of its customer (one transaction, the next version), so a
notice commits the one thing it changes: the customer's count of notices
(internal, never shown); ``version`` and ``updated_at`` move on with it.
"""

from __future__ import annotations

from datetime import datetime

from domain.commands import SendNotice
from domain.errors import FieldError, InvalidFields
from domain.events import CUSTOMER_LOCKED, REGISTRATION_ATTEMPTED
from domain.model import Customer
from domain.policy import Policy
from domain.transitions import Decision, advance, changed, require_live

NOTICES = frozenset({REGISTRATION_ATTEMPTED, CUSTOMER_LOCKED})


def decide_send_notice(
    state: Customer | None, command: SendNotice, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, None)
    if command.kind not in NOTICES:
        raise InvalidFields([FieldError("kind", "is not a notice", "unknown")])
    after = advance(customer, now, notices=customer.notices + 1)
    return changed(command.kind, customer, after, now, **command.details)
