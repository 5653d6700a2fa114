"""Signed access tokens: HS256 JWTs with issuer, audience and a short life."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
CUSTOMER = "customer"
ADMIN = "admin"


@dataclasses.dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    roles: frozenset[str]


class InvalidToken(Exception):
    """Missing, expired, badly signed or not meant for us; the reason stays here."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokenIssuer:
    secret: str
    issuer: str
    audience: str
    lifetime: timedelta

    def issue(self, subject: str, roles: list[str], now: datetime) -> str:
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "roles": roles,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles")
        return Claims(subject=str(claims["sub"]), roles=frozenset(roles))
