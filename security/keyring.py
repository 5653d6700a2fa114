"""AES-256-GCM with named keys, so keys can rotate.

A sealed value records the id of the key that sealed it; the first key of a
ring seals, every key of the ring opens. Configuration gives a ring as
``id:base64key,id:base64key`` (newest first).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class KeyringError(ValueError):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    ciphertext: str  # base64 of nonce + ciphertext + tag

    def to_document(self) -> dict[str, str]:
        return {"key_id": self.key_id, "ciphertext": self.ciphertext}

    @classmethod
    def from_document(cls, doc: dict[str, str]) -> Sealed:
        return cls(doc["key_id"], doc["ciphertext"])


def parse_keys(text: str) -> dict[str, bytes]:
    """``id:base64key,id:base64key`` (newest first) -> {id: key}, in that order."""
    keys: dict[str, bytes] = {}
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id:
            raise KeyringError("each key must be written id:base64")
        if key_id in keys:
            raise KeyringError(f"key {key_id!r} appears twice")
        try:
            keys[key_id] = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise KeyringError(f"key {key_id!r} is not base64") from None
    return keys


class Keyring:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise KeyringError(f"key {key_id!r} must be 32 bytes (AES-256)")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = next(iter(keys))

    @classmethod
    def parse(cls, text: str) -> Keyring:
        return cls(parse_keys(text))

    def seal(self, plaintext: bytes, context: bytes) -> Sealed:
        """Encrypt, binding ``context`` (e.g. the customer id) as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        box = self._keys[self.current].encrypt(nonce, plaintext, context)
        return Sealed(self.current, base64.b64encode(nonce + box).decode())

    def open(self, sealed: Sealed, context: bytes) -> bytes:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise KeyringError(f"key {sealed.key_id!r} is not in the ring")
        raw = base64.b64decode(sealed.ciphertext)
        try:
            return key.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context)
        except InvalidTag:
            raise KeyringError("the sealed value was altered or sealed elsewhere") from None
