"""Facts a sign-in decision needs that only secrets can establish.

The actor asks these before deciding: does the password match the stored
bcrypt hash (in a worker thread: it takes a quarter of a second), which time
step does a TOTP code match (after unsealing the secret), and the hash of a new
password (only once the change is known to be allowed: cheap checks first).
The decision then applies the rules to the answers; it never sees a secret.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from domain.credentials import SealedSecret
from domain.model import Customer
from security import totp
from security.command_secrets import CommandSecrets
from security.keyring import Keyring, KeyringError, Sealed
from security.passwords import DecoyHash, hash_password, verify_password


def totp_context(customer_id: str) -> bytes:
    """What a sealed TOTP secret is bound to: it opens for this customer only."""
    return f"totp:{customer_id}".encode()


class SignInFacts:
    def __init__(
        self, totp_keys: Keyring, decoy: DecoyHash, secrets: CommandSecrets, bcrypt_cost: int
    ) -> None:
        self._totp_keys = totp_keys
        self._decoy = decoy
        # Passwords and codes arrive sealed for this actor (security/command_secrets.py).
        self.secrets = secrets
        self._cost = bcrypt_cost

    async def password_matches(self, customer: Customer | None, password: str) -> bool:
        hashed = customer.credentials.password_hash if customer else None
        if hashed is None:
            # Take as long as a real check, so absence does not show.
            return await asyncio.to_thread(self._decoy.check, password)
        return await asyncio.to_thread(verify_password, password, hashed)

    async def hashed(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, self._cost)

    def totp_step(self, customer: Customer, code: str | None, now: datetime) -> int | None:
        enrolled = customer.credentials.totp
        if enrolled is None or code is None:
            return None
        try:
            secret = self._unseal(customer.id, enrolled.secret)
        except KeyringError:
            return None  # sealed with a key no longer configured: no code can match
        return totp.matching_step(secret, code, now)

    def _unseal(self, customer_id: str, sealed: SealedSecret) -> str:
        opened = self._totp_keys.open(
            Sealed(sealed.key_id, sealed.ciphertext), totp_context(customer_id)
        )
        return opened.decode()
