"""Sessions: when a customer's access ends, decided on the document alone.

A customer's document keeps a session epoch (in its credentials, never shown).
Every access token a customer gets names its session and the epoch it was
issued at. A change that must end every session (suspension or deactivation,
soft delete, a new password, two-factor authentication switched on or off, a
new email) moves the epoch on; a token of an older epoch, or of an account that
may not sign in, is refused wherever the document is at hand: in the
customer's actor for every call that reaches it, and in any route that reads
the document itself (``check_access``).

Refresh tokens rotate: each is used once; one already replaced that comes back
after a short grace (concurrent refreshes of one client) is a copy in other
hands, and ends its whole session (``judge_refresh``).
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta
from typing import Any

from domain.errors import AccountDisabled, SessionEnded
from domain.model import Customer, CustomerStatus
from domain.unique_keys import normalize_email

# Accounts that may not sign in, and whose sessions end when they become so.
SIGN_IN_BLOCKED = frozenset({CustomerStatus.INACTIVE, CustomerStatus.SUSPENDED})


@dataclasses.dataclass(frozen=True, slots=True)
class Access:
    """The customer session a call is made in: the epoch its token was issued at."""

    epoch: int


def check_access(customer: Customer | None, access: Access) -> None:
    """Refuse a customer's own call if its account may no longer sign in, or if
    its session ended since its token was issued. Nothing stored: the decision
    that follows says so."""
    if customer is None:
        return
    # The ended session first: a token of an account suspended since it was
    # issued is refused alike (401) wherever it is judged, by the ended
    # sessions in memory or by the document.
    if customer.deleted or access.epoch != customer.credentials.session_epoch:
        raise SessionEnded("the session has ended; sign in again")
    if customer.status in SIGN_IN_BLOCKED:
        raise AccountDisabled(f"the account is {customer.status.value.lower()}")


def ends_sessions(before: Customer, after: Customer) -> bool:
    """Does the change from ``before`` to ``after`` end every session?"""
    return (
        (after.deleted and not before.deleted)
        or (after.status in SIGN_IN_BLOCKED and before.status not in SIGN_IN_BLOCKED)
        or after.credentials.password_hash != before.credentials.password_hash
        or after.two_factor_enabled != before.two_factor_enabled
        or normalize_email(after.email) != normalize_email(before.email)
    )


def secured(before: Customer | None, after: Customer) -> tuple[Customer, dict[str, Any]]:
    """``after`` as a change must leave it for the account's security, and what
    its event adds: the next session epoch when every session ends
    (``sessions_ended``), and the address the customer had before an email
    change (``previous_email``), which the notification service tells."""
    if before is None or not ends_sessions(before, after):
        return after, {}
    credentials = dataclasses.replace(
        after.credentials, session_epoch=before.credentials.session_epoch + 1
    )
    extra: dict[str, Any] = {"sessions_ended": True}
    if normalize_email(after.email) != normalize_email(before.email):
        extra["previous_email"] = before.email
    return dataclasses.replace(after, credentials=credentials), extra


class RefreshVerdict(enum.Enum):
    # The current token of its session: replace it.
    ROTATE = "rotate"
    # Replaced within the grace (two refreshes of one client crossed): another successor.
    SIBLING = "sibling"
    # Replaced before the grace: someone else holds a copy. The session ends.
    REUSED = "reused"
    # Unknown, expired, or its session is over.
    INVALID = "invalid"


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshRecord:
    """What is stored of a refresh token and its session."""

    expires_at: datetime
    rotated_at: datetime | None
    session_ended: bool


def judge_refresh(record: RefreshRecord | None, now: datetime, grace: timedelta) -> RefreshVerdict:
    if record is None or record.session_ended or record.expires_at <= now:
        return RefreshVerdict.INVALID
    if record.rotated_at is None:
        return RefreshVerdict.ROTATE
    if now - record.rotated_at <= grace:
        return RefreshVerdict.SIBLING
    return RefreshVerdict.REUSED
