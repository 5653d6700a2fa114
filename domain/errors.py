"""Domain errors: a decision that refuses a command. They change nothing.

``code`` is stable: it travels out of the actor and the HTTP layer maps it.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    """Base of every refusal."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CustomerAlreadyExists(DomainError):
    code = "already_exists"


class CustomerNotFound(DomainError):
    code = "not_found"


class CustomerDeleted(DomainError):
    code = "deleted"


class CustomerNotDeleted(DomainError):
    code = "not_deleted"


class VersionMismatch(DomainError):
    """The client's ``If-Match`` names a version that is no longer current."""

    code = "version_mismatch"


class AddressNotFound(DomainError):
    code = "address_not_found"


class AddressAlreadyExists(DomainError):
    code = "address_exists"


class TooManyAddresses(DomainError):
    code = "too_many_addresses"


class DefaultAddressRequired(DomainError):
    """Unsetting a default would leave a type with addresses but no default."""

    code = "default_required"


class IdempotencyKeyReused(DomainError):
    """The same ``Idempotency-Key`` came back with a different request."""

    code = "idempotency_key_reused"


class IdempotentResourceGone(DomainError):
    """The key's request succeeded once, but what it created is gone."""

    code = "idempotent_resource_gone"


class InvalidFields(DomainError):
    """Rules a request breaks, every one of them (answered as one 422)."""

    code = "invalid"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} field error(s)")
        self.errors = errors


class InvalidCredentials(DomainError):
    """Unknown email or wrong password: the same answer for both."""

    code = "invalid_credentials"


class AccountLocked(DomainError):
    code = "locked"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class AccountDisabled(DomainError):
    code = "account_disabled"


class InvalidChallenge(DomainError):
    code = "invalid_challenge"


class InvalidSecondFactor(DomainError):
    code = "invalid_second_factor"


class TwoFactorState(DomainError):
    """2FA is not in the state the command needs (already on, not started...)."""

    code = "two_factor_state"


class InvalidToken(DomainError):
    """A verification or reset token that is unknown, used or expired."""

    code = "invalid_token"


class AlreadyVerified(DomainError):
    code = "already_verified"
