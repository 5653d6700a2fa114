"""What lets a customer sign in: never in a snapshot, an event or a reply.

Secrets are kept only as digests (password: bcrypt; tokens, challenges and
recovery codes: SHA-256), or sealed with a key of the service (the TOTP
secret). The domain compares digests; it never sees a secret in clear. The
session epoch says which of the customer's sessions may still act
(domain/sessions.py); the sessions themselves live outside the document.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from domain.timestamps import timestamp


@dataclasses.dataclass(frozen=True, slots=True)
class SealedSecret:
    key_id: str
    ciphertext: str


@dataclasses.dataclass(frozen=True, slots=True)
class Totp:
    secret: SealedSecret
    enabled: bool
    # The last time step a code was accepted for: codes are single-use.
    last_step: int | None
    recovery_digests: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class PendingToken:
    digest: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class PendingEmailChange:
    """An email change waiting for the token sent to ``new_email``."""

    digest: str
    new_email: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    """A login whose password was right, waiting for its second factor."""

    digest: str
    expires_at: datetime
    failures: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    password_hash: str | None = None
    totp: Totp | None = None
    challenge: Challenge | None = None
    email_verification: PendingToken | None = None
    password_reset: PendingToken | None = None
    email_change: PendingEmailChange | None = None
    # Moves on with every change that ends all sessions (domain/sessions.py).
    session_epoch: int = 0

    def to_document(self) -> dict[str, Any]:
        def token(t: PendingToken | None) -> dict[str, Any] | None:
            return (
                None if t is None else {"digest": t.digest, "expires_at": timestamp(t.expires_at)}
            )

        totp = self.totp
        challenge = self.challenge
        change = self.email_change
        return {
            "password_hash": self.password_hash,
            "session_epoch": self.session_epoch,
            "totp": None
            if totp is None
            else {
                "secret": {"key_id": totp.secret.key_id, "ciphertext": totp.secret.ciphertext},
                "enabled": totp.enabled,
                "last_step": totp.last_step,
                "recovery_digests": list(totp.recovery_digests),
            },
            "challenge": None
            if challenge is None
            else {
                "digest": challenge.digest,
                "expires_at": timestamp(challenge.expires_at),
                "failures": challenge.failures,
            },
            "email_verification": token(self.email_verification),
            "password_reset": token(self.password_reset),
            "email_change": None
            if change is None
            else {
                "digest": change.digest,
                "new_email": change.new_email,
                "expires_at": timestamp(change.expires_at),
            },
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None) -> Credentials:
        if not doc:
            return cls()

        def token(t: dict[str, Any] | None) -> PendingToken | None:
            return (
                None
                if not t
                else PendingToken(t["digest"], datetime.fromisoformat(t["expires_at"]))
            )

        totp = doc.get("totp")
        challenge = doc.get("challenge")
        change = doc.get("email_change")
        return cls(
            password_hash=doc.get("password_hash"),
            session_epoch=int(doc.get("session_epoch", 0)),
            totp=None
            if not totp
            else Totp(
                secret=SealedSecret(totp["secret"]["key_id"], totp["secret"]["ciphertext"]),
                enabled=bool(totp["enabled"]),
                last_step=totp.get("last_step"),
                recovery_digests=tuple(totp.get("recovery_digests") or ()),
            ),
            challenge=None
            if not challenge
            else Challenge(
                challenge["digest"],
                datetime.fromisoformat(challenge["expires_at"]),
                int(challenge.get("failures", 0)),
            ),
            email_verification=token(doc.get("email_verification")),
            password_reset=token(doc.get("password_reset")),
            email_change=None
            if not change
            else PendingEmailChange(
                change["digest"], change["new_email"], datetime.fromisoformat(change["expires_at"])
            ),
        )
