"""Events: what happened to a customer, one per committed change.

The wire form is the CloudEvent ``data`` of the contract:
``{customer_id, version, occurred_at, changes: {field: {before, after}}, snapshot}``.
A consumer that keeps the highest ``version``'s snapshot per customer is immune
to the duplicates and reordering of an at-least-once outbox. An event that
changes no field of the snapshot (a sign-in step, a notice, a token request)
leaves ``snapshot`` out: personal data is not broadcast on every sign-in
attempt, and the snapshot a consumer holds is still the current one.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from domain.model import timestamp

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_RESTORED = "customer.restored"
ADDRESS_CREATED = "customer.address.created"
ADDRESS_UPDATED = "customer.address.updated"
ADDRESS_DELETED = "customer.address.deleted"
ADDRESS_DEFAULT_CHANGED = "customer.address.default_changed"
PREFERENCES_UPDATED = "customer.preferences.updated"
ORDER_RECORDED = "customer.order_recorded"
# Authentication. No event carries a password, a hash, a TOTP secret or a token.
CUSTOMER_REGISTERED = "customer.registered"
LOGGED_IN = "customer.logged_in"
LOGIN_FAILED = "customer.login_failed"
SECOND_FACTOR_REQUESTED = "customer.second_factor_requested"
CUSTOMER_LOCKED = "customer.locked"
TOTP_ENROLLMENT_STARTED = "customer.2fa.enrollment_started"
TOTP_ENABLED = "customer.2fa.enabled"
TOTP_DISABLED = "customer.2fa.disabled"
EMAIL_VERIFICATION_REQUESTED = "customer.email_verification_requested"
EMAIL_VERIFIED = "customer.email_verified"
PASSWORD_RESET_REQUESTED = "customer.password_reset_requested"  # noqa: S105 - an event type
PASSWORD_CHANGED = "customer.password_changed"  # noqa: S105 - an event type
EMAIL_CHANGE_REQUESTED = "customer.email_change_requested"
EMAIL_CHANGED = "customer.email_changed"
# Data protection (domain/erasure.py). ``customer.erased`` carries the tombstone
# as its snapshot: the id, the version, ``erased_at`` and anonymous order counts.
ERASURE_REQUESTED = "customer.erasure_requested"
ERASURE_CANCELLED = "customer.erasure_cancelled"
CUSTOMER_ERASED = "customer.erased"
# Notices: nothing of the customer changes but a count (domain/notices.py).
REGISTRATION_ATTEMPTED = "customer.registration_attempted"
# Not a change: the current snapshot published again by the reconciler,
# because an earlier event of that customer may have been lost.
CUSTOMER_RESYNCED = "customer.resynced"

EVENT_TYPES = (
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    CUSTOMER_DELETED,
    CUSTOMER_RESTORED,
    ADDRESS_CREATED,
    ADDRESS_UPDATED,
    ADDRESS_DELETED,
    ADDRESS_DEFAULT_CHANGED,
    PREFERENCES_UPDATED,
    ORDER_RECORDED,
    CUSTOMER_REGISTERED,
    LOGGED_IN,
    LOGIN_FAILED,
    SECOND_FACTOR_REQUESTED,
    CUSTOMER_LOCKED,
    TOTP_ENROLLMENT_STARTED,
    TOTP_ENABLED,
    TOTP_DISABLED,
    EMAIL_VERIFICATION_REQUESTED,
    EMAIL_VERIFIED,
    PASSWORD_RESET_REQUESTED,
    PASSWORD_CHANGED,
    EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED,
    REGISTRATION_ATTEMPTED,
    ERASURE_REQUESTED,
    ERASURE_CANCELLED,
    CUSTOMER_ERASED,
)

# Types whose change never touches the public snapshot (only credentials or the
# count of notices): their events carry no snapshot. ``customer.password_changed``
# changes none of it either but keeps it: its snapshot's email is the address
# the notification service warns.
WITHOUT_SNAPSHOT = frozenset(
    {
        LOGIN_FAILED,
        SECOND_FACTOR_REQUESTED,
        CUSTOMER_LOCKED,
        TOTP_ENROLLMENT_STARTED,
        EMAIL_VERIFICATION_REQUESTED,
        PASSWORD_RESET_REQUESTED,
        EMAIL_CHANGE_REQUESTED,
        REGISTRATION_ATTEMPTED,
        ERASURE_REQUESTED,
        ERASURE_CANCELLED,
    }
)

# The CloudEvent ``dataschema`` of every customer event: the version of the
# ``data`` layout (2: ``snapshot`` is left out by the types above). The type
# names stay; a consumer tells layouts apart by this attribute.
EVENT_SCHEMA = "urn:customer-service:schema:customer-event:2"


def dataschema(event_type: str) -> str:
    """The schema of an event's ``data``: the customer event's, or one of the
    derived events' own (segment changes, dead letters, heartbeats), version 1."""
    if event_type in EVENT_TYPES or event_type == CUSTOMER_RESYNCED:
        return EVENT_SCHEMA
    return f"urn:customer-service:schema:{event_type}:1"


# Fields that change with every version and say nothing on their own.
_BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerEvent:
    type: str
    customer_id: str
    version: int
    occurred_at: datetime
    changes: dict[str, dict[str, Any]]
    snapshot: dict[str, Any] | None  # None: nothing of it changed (WITHOUT_SNAPSHOT)
    # Fields some event types add (e.g. ``locked_until``, a sealed ``delivery``).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        data = {
            "customer_id": self.customer_id,
            "version": self.version,
            "occurred_at": timestamp(self.occurred_at),
            "changes": self.changes,
            **self.extra,
        }
        if self.snapshot is not None:
            data["snapshot"] = self.snapshot
        return data


def versioned_change(
    ids: dict[str, str],
    version: int,
    occurred_at: datetime,
    changes: dict[str, dict[str, Any]],
    snapshot: dict[str, Any] | None,
) -> dict[str, Any]:
    """The data of an event about a thing with a version of its own (a
    wishlist, a customer group): its ids, that version, what changed, and
    the thing as it is now; a deleted one's event says so instead."""
    data: dict[str, Any] = {
        **ids,
        "version": version,
        "occurred_at": timestamp(occurred_at),
        "changes": changes,
    }
    if snapshot is None:
        data["deleted"] = True
    else:
        data["snapshot"] = snapshot
    return data


def _by_id(value: Any) -> Any:
    """A list of documents with ids compares by id, so a change names its entry."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        return {v["id"]: v for v in value}
    return value


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changes between two snapshots as ``{"a.b.c": {before, after}}``.

    Nested objects are compared field by field (``preferences.newsletter``,
    ``addresses.<id>.city``); an entry that appears or disappears is one change
    carrying the whole entry. Bookkeeping fields are left out at every level.
    """
    changes: dict[str, dict[str, Any]] = {}

    def walk(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for field in old.keys() | new.keys():
            if field in _BOOKKEEPING:
                continue
            a, b = _by_id(old.get(field)), _by_id(new.get(field))
            path = f"{prefix}{field}"
            if isinstance(a, dict) and isinstance(b, dict) and a and b:
                walk(path + ".", a, b)
            elif a != b:
                changes[path] = {"before": old.get(field), "after": new.get(field)}

    walk("", before or {}, after)
    return dict(sorted(changes.items()))
