"""The ``Customer`` actor's methods: one declaration each (the wire contract).

Commands are the domain's; sign-in steps send their secrets sealed for the
actor (security/command_secrets.py) and the actor establishes the facts the
decision needs. A command's reply says whether it ``committed``. What a
customer asks with its own token carries ``access`` (its session), and the
actor refuses it if that session ended (domain/sessions.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.protocol import ActorType, Document, Sparse
from domain import commands
from domain.errors import Refusal
from domain.sessions import Access

# A secret sealed for one actor and purpose: {"key_id", "ciphertext"}.
Sealed = dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Read(commands.OnBehalf, Sparse):
    """A read, made for a customer's session (``access``) or for anyone else
    (then nothing is sent: an empty request, as an older caller sends)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReadCustomer(Read):
    include_deleted: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PasswordAttempt:
    email: str
    password: Sealed | None
    # Stored if the customer has 2FA: the login then waits for a second factor.
    challenge_digest: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TotpCode(Sparse):
    code: Sealed | None = None
    # The customer's session the call is made in, as commands name it
    # (domain.commands.OnBehalf); None for a step before any session (a login).
    access: Access | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecondFactor(TotpCode):
    """A TOTP code (sealed) or the digest of a recovery code."""

    recovery_digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeAnswer(SecondFactor):
    challenge_digest: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FactorsAndPassword(SecondFactor):
    """Turning 2FA off: a second factor and the password (sealed)."""

    password: Sealed | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SteppedUp(Sparse):
    """A sensitive change: it comes with the customer's password (sealed), for
    the customer's session (``access``)."""

    password: Sealed | None = None
    access: Access | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TotpEnrollment(SteppedUp):
    """A new TOTP secret (sealed at rest) and the digests of the recovery codes."""

    key_id: str
    sealed_secret: str
    recovery_digests: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChange(SteppedUp):
    """The new password (sealed): the actor hashes it only once ``password``, the
    current one, is right."""

    new_password: Sealed | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EmailChange(SteppedUp):
    """A new address, the digest of the token sent there and the token sealed
    for the notification service."""

    new_email: str
    digest: str
    delivery: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ErasureAsk(SteppedUp):
    """An erasure asked for: by the customer with its password (sealed), or by an
    admin (no ``access``, no password), who may ask for it at once."""

    immediate: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PasswordReset(Sparse):
    """A reset token's digest and the new password (sealed): the actor hashes it
    only for a token it holds."""

    digest: str
    new_password: Sealed | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Committed:
    """Whether a command committed (False: a no-op, or the replay of a request
    already done); None for a read, whose reply leaves it out."""

    committed: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CustomerShown(Committed):
    customer: Document

    @property
    def version(self) -> int:
        return int(self.customer["version"])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VersionShown(Committed):
    version: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ErasureShown(VersionShown):
    """When the erasure is due (None: nothing is pending), and whether it is done."""

    scheduled_for: str | None
    erased: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddressShown(VersionShown):
    address: Document


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PreferencesShown(VersionShown):
    preferences: Document


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddressesShown:
    addresses: tuple[Document, ...]
    version: int

    def address(self, address_id: str) -> Document | None:
        return next((a for a in self.addresses if a["id"] == address_id), None)


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What a sign-in step decided: the type of the event it made ("none": nothing),
    and the customer's session epoch after it (the sessions a login opens carry it)."""

    outcome: str
    customer_id: str
    version: int
    committed: bool
    session_epoch: int | None = None


CUSTOMER = ActorType("Customer", Refusal, Refusal.BAD_COMMAND)

CREATE = CUSTOMER.method("create", commands.CreateCustomer, CustomerShown, own_id=("customer_id",))
UPDATE = CUSTOMER.method("update", commands.UpdateCustomer, CustomerShown)
DELETE = CUSTOMER.method("delete", commands.DeleteCustomer, VersionShown)
RESTORE = CUSTOMER.method("restore", commands.RestoreCustomer, CustomerShown)
ADD_ADDRESS = CUSTOMER.method("add_address", commands.AddAddress, AddressShown)
UPDATE_ADDRESS = CUSTOMER.method("update_address", commands.UpdateAddress, AddressShown)
REMOVE_ADDRESS = CUSTOMER.method("remove_address", commands.RemoveAddress, VersionShown)
SET_DEFAULT_ADDRESS = CUSTOMER.method(
    "set_default_address", commands.SetDefaultAddress, AddressShown
)
UPDATE_PREFERENCES = CUSTOMER.method(
    "update_preferences", commands.UpdatePreferences, PreferencesShown
)
RECORD_ORDER = CUSTOMER.method("record_order", commands.RecordOrder, VersionShown)

REGISTER = CUSTOMER.method(
    "register", commands.RegisterCustomer, CustomerShown, own_id=("profile", "customer_id")
)
LOGIN = CUSTOMER.method("login", PasswordAttempt, Outcome)
COMPLETE_LOGIN = CUSTOMER.method("complete_login", ChallengeAnswer, Outcome)
START_TOTP = CUSTOMER.method("start_totp", TotpEnrollment, CustomerShown)
CONFIRM_TOTP = CUSTOMER.method("confirm_totp", TotpCode, CustomerShown)
DISABLE_TOTP = CUSTOMER.method("disable_totp", FactorsAndPassword, VersionShown)
REQUEST_EMAIL_VERIFICATION = CUSTOMER.method(
    "request_email_verification", commands.RequestEmailVerification, VersionShown
)
VERIFY_EMAIL = CUSTOMER.method("verify_email", commands.VerifyEmail, CustomerShown)
REQUEST_PASSWORD_RESET = CUSTOMER.method(
    "request_password_reset", commands.RequestPasswordReset, VersionShown
)
RESET_PASSWORD = CUSTOMER.method("reset_password", PasswordReset, CustomerShown)
CHANGE_PASSWORD = CUSTOMER.method("change_password", PasswordChange, VersionShown)
REQUEST_EMAIL_CHANGE = CUSTOMER.method("request_email_change", EmailChange, VersionShown)
CONFIRM_EMAIL_CHANGE = CUSTOMER.method(
    "confirm_email_change", commands.ConfirmEmailChange, CustomerShown
)
SEND_NOTICE = CUSTOMER.method("send_notice", commands.SendNotice, VersionShown)
REQUEST_ERASURE = CUSTOMER.method("request_erasure", ErasureAsk, ErasureShown)
CANCEL_ERASURE = CUSTOMER.method("cancel_erasure", commands.CancelErasure, VersionShown)
# The worker's sweep, for an erasure whose reminder was lost.
ERASE_IF_DUE = CUSTOMER.method("erase_if_due", commands.EraseIfDue, ErasureShown)

GET = CUSTOMER.method("get", ReadCustomer, CustomerShown)
# A request that names no customer session (an empty body, as callers of an
# older version send) is read as made for none.
GET_ADDRESSES = CUSTOMER.method("get_addresses", Read, AddressesShown)
GET_PREFERENCES = CUSTOMER.method("get_preferences", Read, PreferencesShown)
