"""The ``Customer`` actor's methods: one declaration each (the wire contract).

Commands are the domain's; sign-in steps send their secrets sealed for the
actor (security/command_secrets.py) and the actor establishes the facts the
decision needs. A command's reply says whether it ``committed``.
"""

from __future__ import annotations

import dataclasses

from actors.protocol import ActorType, Document, Sparse
from domain import commands
from domain.errors import Refusal

# A secret sealed for one actor and purpose: {"key_id", "ciphertext"}.
Sealed = dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class ReadCustomer:
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecondFactor(TotpCode):
    """A TOTP code (sealed) or the digest of a recovery code."""

    recovery_digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeAnswer(SecondFactor):
    challenge_digest: str


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
    """What a sign-in step decided: the type of the event it made ("none": nothing)."""

    outcome: str
    customer_id: str
    version: int
    committed: bool


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
START_TOTP = CUSTOMER.method("start_totp", commands.StartTotpEnrollment, CustomerShown)
CONFIRM_TOTP = CUSTOMER.method("confirm_totp", TotpCode, CustomerShown)
DISABLE_TOTP = CUSTOMER.method("disable_totp", SecondFactor, Outcome)
REQUEST_EMAIL_VERIFICATION = CUSTOMER.method(
    "request_email_verification", commands.RequestEmailVerification, VersionShown
)
VERIFY_EMAIL = CUSTOMER.method("verify_email", commands.VerifyEmail, CustomerShown)
REQUEST_PASSWORD_RESET = CUSTOMER.method(
    "request_password_reset", commands.RequestPasswordReset, VersionShown
)
RESET_PASSWORD = CUSTOMER.method("reset_password", commands.ResetPassword, VersionShown)

GET = CUSTOMER.method("get", ReadCustomer, CustomerShown)
GET_ADDRESSES = CUSTOMER.method_without_request("get_addresses", AddressesShown)
GET_PREFERENCES = CUSTOMER.method_without_request("get_preferences", PreferencesShown)
