"""Signed access tokens: HS256 JWTs with issuer, audience and a short life.

A customer's token also names its session: ``sid`` (the session id) and
``sep`` (the customer's session epoch when it was issued), so that a request
can be checked against ended sessions in O(1).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
CUSTOMER = "customer"
ADMIN = "admin"
KNOWN_ROLES = frozenset({CUSTOMER, ADMIN})
# No token may live longer than this, whoever issued it.
MAX_LIFETIME = timedelta(hours=24)


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """The session a token belongs to: its id and the customer's epoch at issue."""

    id: str
    epoch: int


@dataclasses.dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    roles: frozenset[str]
    expires_at: float  # seconds since the epoch
    session: Session | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


class InvalidToken(Exception):
    """Missing, expired, badly signed or not meant for us; the reason stays here."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokenIssuer:
    secret: str
    issuer: str
    audience: str
    lifetime: timedelta

    def issue(
        self, subject: str, roles: list[str], now: datetime, session: Session | None = None
    ) -> str:
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "roles": roles,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            "jti": str(uuid.uuid4()),
        }
        if session is not None:
            claims |= {"sid": session.id, "sep": session.epoch}
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
        roles = claims.get("roles")
        # Only roles this service knows; a token without one grants nothing.
        if (
            not isinstance(roles, list)
            or not roles
            or not all(isinstance(r, str) and r in KNOWN_ROLES for r in roles)
        ):
            raise InvalidToken("roles")
        try:
            lifetime = float(claims["exp"]) - float(claims["iat"])
        except (TypeError, ValueError):
            raise InvalidToken("iat") from None
        if lifetime > MAX_LIFETIME.total_seconds():
            raise InvalidToken("lifetime")
        return Claims(
            subject=str(claims["sub"]),
            roles=frozenset(roles),
            expires_at=float(claims["exp"]),
            session=_session(claims),
        )


def _session(claims: dict[str, object]) -> Session | None:
    session_id, epoch = claims.get("sid"), claims.get("sep")
    if session_id is None and epoch is None:
        return None
    if (
        not isinstance(session_id, str)
        or not 0 < len(session_id) <= 64
        or not isinstance(epoch, int)
        or isinstance(epoch, bool)
        or epoch < 0
    ):
        raise InvalidToken("session")
    return Session(session_id, epoch)


class VerifiedTokens:
    """Tokens already verified, so a client's next request skips the signature
    check (PyJWT costs about a tenth of a request). Only valid tokens are kept,
    at most ``size``, and each is refused again once it expires."""

    def __init__(self, verify: Callable[[str], Claims], size: int = 10_000) -> None:
        self._verify = verify
        self._size = size
        self._known: OrderedDict[str, Claims] = OrderedDict()

    def verify(self, token: str, now: float) -> Claims:
        claims = self._known.get(token)
        if claims is not None:
            if claims.expires_at > now:
                self._known.move_to_end(token)
                return claims
            del self._known[token]
        claims = self._verify(token)
        self._known[token] = claims
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return claims
