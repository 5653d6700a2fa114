"""Secrets inside actor commands (a password, a one-time code), sealed.

Any app may register an actor type with placement and so host some of our
actor ids; signatures keep it from forging calls or replies, sealing keeps it
from reading what a call carries. AES-256-GCM with keys derived from the
command keyring, bound to the actor id and the field's purpose.
"""

from __future__ import annotations

from typing import Any

from security.keyring import Keyring, KeyringError, Sealed
from security.macs import MacKeyring

_PURPOSE = "customer-service/command-secret/v1"


class CommandSecrets:
    def __init__(self, keys: MacKeyring) -> None:
        self._ring = Keyring(keys.derived(_PURPOSE))

    def seal(self, actor_id: str, field: str, secret: str) -> dict[str, str]:
        return self._ring.seal(secret.encode(), _context(actor_id, field)).to_document()

    def open(self, actor_id: str, field: str, sealed: Any) -> str | None:
        """The secret, or None if missing, altered or sealed for another actor."""
        if not isinstance(sealed, dict):
            return None
        try:
            box = Sealed(str(sealed["key_id"]), str(sealed["ciphertext"]))
            return self._ring.open(box, _context(actor_id, field)).decode()
        except (KeyError, KeyringError, ValueError, UnicodeDecodeError):
            return None


def _context(actor_id: str, field: str) -> bytes:
    return f"{field}:{actor_id}".encode()
