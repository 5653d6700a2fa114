"""Password hashing with bcrypt.

bcrypt reads at most 72 bytes and silently ignores the rest, so longer
passwords are refused by the policy rather than truncated. Hashing takes about
a quarter of a second at cost 12: callers run it in a worker thread.
"""

from __future__ import annotations

import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72


def policy_violation(password: str) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password.encode()) > MAX_BYTES:
        return f"must be at most {MAX_BYTES} bytes in UTF-8 (bcrypt ignores the rest)"
    return None


def hash_password(password: str, cost: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # a malformed hash, or a password bcrypt cannot take
        return False


class DecoyHash:
    """A hash to check unknown accounts against, so that an unknown email and
    a wrong password take the same time."""

    def __init__(self, cost: int) -> None:
        self._hash = hash_password("decoy-password-that-matches-nothing", cost)

    def check(self, password: str) -> bool:
        verify_password(password, self._hash)
        return False
