"""Random single-use secrets (challenges, email and reset tokens, recovery
codes), kept only as SHA-256 digests. They carry 128+ bits of entropy, so a
fast digest is enough; the customer id travels in front so a route knows
which actor to ask."""

from __future__ import annotations

import hashlib
import secrets
import uuid

RECOVERY_CODES = 10


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(customer_id: str) -> str:
    """``<customer id>.<43 random url-safe characters>``."""
    return f"{customer_id}.{secrets.token_urlsafe(32)}"


def customer_of(token: str) -> str | None:
    """The customer id a token names, if it is shaped like one of ours."""
    customer_id, sep, rest = token.partition(".")
    if not sep or not rest:
        return None
    try:
        return str(uuid.UUID(customer_id))
    except ValueError:
        return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k3q9-x7fp-2mzc`` (60 bits each: guessing is hopeless)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]


def normalize_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "").replace("-", "")
