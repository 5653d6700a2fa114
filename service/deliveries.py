"""Tokens for the notification service, sealed into the event that asks for them.

The notification service opens ``delivery`` with the shared notification
keyring: AES-256-GCM, base64 of nonce (12 bytes) + ciphertext + tag, with
``<purpose>:<customer id>`` as associated data. Nobody else on the topic (and
no log) sees the token.
"""

from __future__ import annotations

from typing import Any, Literal

from security.keyring import Keyring, Sealed

Purpose = Literal["email_verification", "password_reset", "email_change"]


def context(purpose: Purpose, customer_id: str) -> bytes:
    return f"{purpose}:{customer_id}".encode()


def seal_delivery(keys: Keyring, purpose: Purpose, customer_id: str, token: str) -> dict[str, Any]:
    sealed = keys.seal(token.encode(), context(purpose, customer_id))
    return {"purpose": purpose, **sealed.to_document()}


def open_delivery(keys: Keyring, customer_id: str, delivery: dict[str, Any]) -> str:
    """What the notification service does (and the tests, in its place)."""
    purpose: Purpose = delivery["purpose"]
    sealed = Sealed.from_document({k: delivery[k] for k in ("key_id", "ciphertext")})
    return keys.open(sealed, context(purpose, customer_id)).decode()
