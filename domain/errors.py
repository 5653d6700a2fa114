"""Domain errors: a decision that refuses a command. They change nothing.

``code`` is stable: it travels out of the actor and the HTTP layer maps it.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar


class Refusal(enum.StrEnum):
    """Every reason a Customer actor refuses a command: the ``code`` of its
    refusal on the wire, which the HTTP layer maps, each to one problem."""

    # Decided by the domain: each is the code of one DomainError below.
    ALREADY_EXISTS = "already_exists"
    NOT_FOUND = "not_found"
    DELETED = "deleted"
    NOT_DELETED = "not_deleted"
    VERSION_MISMATCH = "version_mismatch"
    ADDRESS_NOT_FOUND = "address_not_found"
    ADDRESS_EXISTS = "address_exists"
    TOO_MANY_ADDRESSES = "too_many_addresses"
    DEFAULT_REQUIRED = "default_required"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENT_RESOURCE_GONE = "idempotent_resource_gone"
    INVALID = "invalid"
    INVALID_CREDENTIALS = "invalid_credentials"
    ACCOUNT_DISABLED = "account_disabled"
    INVALID_CHALLENGE = "invalid_challenge"
    INVALID_SECOND_FACTOR = "invalid_second_factor"
    TWO_FACTOR_STATE = "two_factor_state"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - a refusal code
    ALREADY_VERIFIED = "already_verified"
    SESSION_ENDED = "session_ended"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a refusal code
    ERASED = "erased"
    ERASURE_NOT_PENDING = "erasure_not_pending"
    WISHLIST_NOT_FOUND = "wishlist_not_found"
    WISHLIST_ITEM_NOT_FOUND = "wishlist_item_not_found"
    TOO_MANY_WISHLISTS = "too_many_wishlists"
    TOO_MANY_WISHLIST_ITEMS = "too_many_wishlist_items"
    WISHLISTS_TOO_LARGE = "wishlists_too_large"
    GROUP_NOT_FOUND = "group_not_found"
    GROUP_EXISTS = "group_exists"
    GROUP_IN_USE = "group_in_use"
    GROUP_NOT_RETIRED = "group_not_retired"
    GROUP_SETTLING = "group_settling"
    DEFAULT_GROUP_REQUIRED = "default_group_required"
    ERASURE_DUE = "erasure_due"
    # Decided by the actor around the domain.
    EMAIL_TAKEN = "email_taken"
    LEGACY_ID_TAKEN = "legacy_id_taken"
    # The document or a unique value changed concurrently: nothing was written.
    CONFLICT = "conflict"
    # The store or the sidecar failed: nothing was written, or the outcome is unknown.
    UNAVAILABLE = "unavailable"
    # The request is not the method's command: a caller that skipped the routes.
    BAD_COMMAND = "bad_command"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    """Base of every refusal."""

    code: ClassVar[Refusal]

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CustomerAlreadyExists(DomainError):
    code = Refusal.ALREADY_EXISTS


class CustomerNotFound(DomainError):
    code = Refusal.NOT_FOUND


class CustomerDeleted(DomainError):
    code = Refusal.DELETED


class CustomerNotDeleted(DomainError):
    code = Refusal.NOT_DELETED


class CustomerErased(DomainError):
    """Erased for good: only its id, when, and anonymous order counts are left."""

    code = Refusal.ERASED


class ErasureNotPending(DomainError):
    code = Refusal.ERASURE_NOT_PENDING


class ErasureDue(DomainError):
    """The erasure is due (asked for, or the end of a soft delete's retention):
    nothing may undo it any more, though its reminder may not have fired yet."""

    code = Refusal.ERASURE_DUE


class VersionMismatch(DomainError):
    """The client's ``If-Match`` names a version that is no longer current."""

    code = Refusal.VERSION_MISMATCH


class AddressNotFound(DomainError):
    code = Refusal.ADDRESS_NOT_FOUND


class WishlistNotFound(DomainError):
    code = Refusal.WISHLIST_NOT_FOUND


class WishlistItemNotFound(DomainError):
    code = Refusal.WISHLIST_ITEM_NOT_FOUND


class TooManyWishlists(DomainError):
    code = Refusal.TOO_MANY_WISHLISTS


class TooManyWishlistItems(DomainError):
    code = Refusal.TOO_MANY_WISHLIST_ITEMS


class WishlistsTooLarge(DomainError):
    """The customer's wishlists would outgrow what one state transaction carries."""

    code = Refusal.WISHLISTS_TOO_LARGE


class GroupNotFound(DomainError):
    code = Refusal.GROUP_NOT_FOUND


class GroupExists(DomainError):
    code = Refusal.GROUP_EXISTS


class GroupInUse(DomainError):
    code = Refusal.GROUP_IN_USE


class GroupNotRetired(DomainError):
    code = Refusal.GROUP_NOT_RETIRED


class GroupSettling(DomainError):
    """Retired too recently: changes that saw the group active may not be projected yet."""

    code = Refusal.GROUP_SETTLING


class DefaultGroupRequired(DomainError):
    code = Refusal.DEFAULT_GROUP_REQUIRED


class AddressAlreadyExists(DomainError):
    code = Refusal.ADDRESS_EXISTS


class TooManyAddresses(DomainError):
    code = Refusal.TOO_MANY_ADDRESSES


class DefaultAddressRequired(DomainError):
    """Unsetting a default would leave a type with addresses but no default."""

    code = Refusal.DEFAULT_REQUIRED


class IdempotencyKeyReused(DomainError):
    """The same ``Idempotency-Key`` came back with a different request."""

    code = Refusal.IDEMPOTENCY_KEY_REUSED


class IdempotentResourceGone(DomainError):
    """The key's request succeeded once, but what it created is gone."""

    code = Refusal.IDEMPOTENT_RESOURCE_GONE


class InvalidFields(DomainError):
    """Rules a request breaks, every one of them (answered as one 422)."""

    code = Refusal.INVALID

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} field error(s)")
        self.errors = errors


class InvalidCredentials(DomainError):
    """Unknown email or wrong password: the same answer for both."""

    code = Refusal.INVALID_CREDENTIALS


class AccountDisabled(DomainError):
    code = Refusal.ACCOUNT_DISABLED


class InvalidChallenge(DomainError):
    code = Refusal.INVALID_CHALLENGE


class InvalidSecondFactor(DomainError):
    code = Refusal.INVALID_SECOND_FACTOR


class TwoFactorState(DomainError):
    """2FA is not in the state the command needs (already on, not started...)."""

    code = Refusal.TWO_FACTOR_STATE


class InvalidToken(DomainError):
    """A verification or reset token that is unknown, used or expired."""

    code = Refusal.INVALID_TOKEN


class AlreadyVerified(DomainError):
    code = Refusal.ALREADY_VERIFIED


class SessionEnded(DomainError):
    """A customer's token of a session that ended (domain/sessions.py)."""

    code = Refusal.SESSION_ENDED


class WrongPassword(DomainError):
    """A sensitive change whose password (step-up) is wrong."""

    code = Refusal.WRONG_PASSWORD
