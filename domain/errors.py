"""Domain errors: a decision that refuses a command. They change nothing."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal; ``code`` is stable and travels out of the actor."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CustomerAlreadyExists(DomainError):
    code = "already_exists"


class CustomerNotFound(DomainError):
    code = "not_found"
