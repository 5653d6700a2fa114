"""Commands: what a caller asks the customer aggregate to do.

Field values arrive validated for syntax (the HTTP layer); the rules that need
the current customer or configuration are the decisions' job. ``if_match`` is
the client's optimistic-concurrency precondition: the versions it accepts, or
``None`` for "whatever is current". ``changes`` hold only the fields a client
sent, in document form (JSON values).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.model import AddressType, CustomerStatus, CustomerType, Gender
from domain.sessions import Access


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OnBehalf:
    """A command a customer may give with its own token. ``access`` names the
    session it came in, and the decision refuses it if that session ended or the
    account may no longer sign in (domain/sessions.py); None: an admin, a
    service or this service itself, which no session binds."""

    access: Access | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CreateCustomer:
    customer_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    status: CustomerStatus = CustomerStatus.ACTIVE
    registration_source: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    customer_group_id: str | None = None
    legacy_id: str | None = None
    # Set when the client sent an Idempotency-Key (which also chose the id).
    fingerprint: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateCustomer(OnBehalf):
    changes: dict[str, Any]
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteCustomer(OnBehalf):
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RestoreCustomer:
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AddAddress(OnBehalf):
    address_id: str
    fields: dict[str, Any]
    is_default: bool = False
    idempotency_key: str | None = None
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateAddress(OnBehalf):
    address_id: str
    changes: dict[str, Any]
    # True moves the default(s) here; False is refused on a default address.
    is_default: bool | None = None
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RemoveAddress(OnBehalf):
    address_id: str
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SetDefaultAddress(OnBehalf):
    address_id: str
    # One kind (SHIPPING or BILLING), or None for every kind the address serves.
    kind: AddressType | None = None
    if_match: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UpdatePreferences(OnBehalf):
    flags: dict[str, bool]
    custom_preferences: dict[str, Any] | None = None
    source: str = "api"
    if_match: tuple[int, ...] | None = None


# -- authentication: the shell computes the facts (a password check, the time
# step a code matches, digests of secrets); the decisions apply the rules.


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterCustomer:
    profile: CreateCustomer
    password_hash: str
    verification_digest: str
    # The token sealed for the notification service, carried by the event.
    delivery: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptLogin:
    email: str
    password_ok: bool
    # Stored if the customer has 2FA: the login then waits for a second factor.
    challenge_digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class CompleteLogin:
    challenge_digest: str
    totp_step: int | None = None
    recovery_digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StartTotpEnrollment(OnBehalf):
    key_id: str
    sealed_secret: str
    recovery_digests: tuple[str, ...]
    # Step-up: did the customer's password come with it?
    password_ok: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ConfirmTotp(OnBehalf):
    totp_step: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class DisableTotp(OnBehalf):
    totp_step: int | None = None
    recovery_digest: str | None = None
    password_ok: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRequest:
    """A new one-time token: its digest, and the token sealed for the notification
    service (carried by the event)."""

    digest: str
    delivery: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class RequestEmailVerification(OnBehalf):
    """A new verification token, as a ``TokenRequest`` carries one."""

    digest: str
    delivery: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyEmail:
    digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class RequestPasswordReset(TokenRequest):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class ResetPassword:
    digest: str
    password_hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChangePassword(OnBehalf):
    """A signed-in customer's new password: the facts its shell established
    (the current password was right; the new one's hash)."""

    password_ok: bool
    password_hash: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class RequestEmailChange(OnBehalf):
    """A new address, confirmed by the token sent to it: its digest, and the
    token sealed for the notification service (``delivery``)."""

    new_email: str
    digest: str
    delivery: dict[str, Any]
    password_ok: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ConfirmEmailChange:
    digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class RequestErasure(OnBehalf):
    """Erase the customer after the grace, or at once (``immediate``: an admin's
    only). The customer asks with its password (``password_ok``: it was right);
    an admin (no ``access``) needs none."""

    immediate: bool = False
    password_ok: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class CancelErasure(OnBehalf):
    """Cancel an erasure still pending."""


@dataclasses.dataclass(frozen=True, slots=True)
class EraseIfDue:
    """Erase the customer if its erasure is due (a reminder fired, or the sweep
    found it): decided on the document alone, so a stale or forged one does nothing."""


@dataclasses.dataclass(frozen=True, slots=True)
class SendNotice:
    """Tell the customer something that changes nothing of it: a registration
    attempted with its email, a lockout of its sign-in. ``kind`` is the event type."""

    kind: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordOrder:
    """An order the order service placed for this customer (its event, parsed)."""

    order_id: str
    total: Decimal
    placed_at: datetime


Command = (
    CreateCustomer
    | UpdateCustomer
    | DeleteCustomer
    | RestoreCustomer
    | AddAddress
    | UpdateAddress
    | RemoveAddress
    | SetDefaultAddress
    | UpdatePreferences
    | RegisterCustomer
    | AttemptLogin
    | CompleteLogin
    | StartTotpEnrollment
    | ConfirmTotp
    | DisableTotp
    | RequestEmailVerification
    | VerifyEmail
    | RequestPasswordReset
    | ResetPassword
    | ChangePassword
    | RequestEmailChange
    | ConfirmEmailChange
    | SendNotice
    | RecordOrder
    | RequestErasure
    | CancelErasure
    | EraseIfDue
)


def request_fingerprint(payload: dict[str, Any]) -> str:
    """What identifies a request for idempotency: a hash of its canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
