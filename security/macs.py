"""HMAC-SHA256 tags with named keys, so keys can rotate.

A tag names the key that made it (``<key id>:<base64url tag>``); the first key
of a ring signs, every key of the ring verifies. Configuration gives a ring as
``id:base64key,id:base64key`` (newest first), like the AES keyrings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from security.keyring import KeyringError, parse_keys

MIN_KEY_BYTES = 32


class MacKeyring:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        for key_id, key in keys.items():
            if len(key) < MIN_KEY_BYTES:
                raise KeyringError(f"key {key_id!r} must have at least {MIN_KEY_BYTES} bytes")
            if ":" in key_id:
                raise KeyringError(f"key id {key_id!r} may not contain ':'")
        self._keys = dict(keys)
        self.current = next(iter(keys))

    @classmethod
    def parse(cls, text: str) -> MacKeyring:
        return cls(parse_keys(text))

    def sign(self, message: bytes) -> str:
        return f"{self.current}:{_tag(self._keys[self.current], message)}"

    def verify(self, message: bytes, tag: str) -> bool:
        key_id, sep, presented = tag.partition(":")
        key = self._keys.get(key_id)
        if not sep or key is None:
            return False
        expected = _tag(key, message).encode()
        return hmac.compare_digest(expected, presented.encode("utf-8", "replace"))

    def derived(self, purpose: str) -> dict[str, bytes]:
        """An AES-256 key per ring key, derived for ``purpose`` (same ids, same order)."""
        return {
            key_id: HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()
            ).derive(key)
            for key_id, key in self._keys.items()
        }


def _tag(key: bytes, message: bytes) -> str:
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def framed(*parts: str | bytes) -> bytes:
    """Parts joined so that no two different lists give the same bytes."""
    out = bytearray()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        out += f"{len(raw)}:".encode() + raw + b";"
    return bytes(out)
