"""Who is calling: a principal from the request's origin and its Bearer token.

The gate (service/gate.py) has already decided where the request came from.
A named service calling through Dapr acts with its configured scope (``read``
or ``admin``); everyone else, a ``forward`` caller's end user included, is
judged by a Bearer access token: role ``admin``, or role ``customer``. Missing
or bad tokens get 401.

A customer's token must name its session (``sid``, ``sep``): one whose session
ended lately (logout, revocation, a reused refresh token, a change that ended
every session) is refused here, in O(1), from the ended sessions this process
knows (accounts/ended_sessions.py); while this process cannot know them (its
feed is not listening), a customer's token gets 503 to retry, not trust. Every
answer made from a customer's document refuses the tokens of an older session
epoch too (domain/sessions.py).
Admin tokens come from the platform's auth service and no session binds them.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Protocol

from domain.sessions import Access
from security.access_tokens import Claims, InvalidToken, TokenIssuer, VerifiedTokens
from service.callers import Scope
from service.origin import Headers, Origin
from service.problems import BEARER_CHALLENGE, Problem


class Role(enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    # A service with the read scope: look-ups only.
    READER = "reader"


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    # A customer's session: its id, and what its actor checks (the epoch).
    session_id: str | None = None
    access: Access | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


_SERVICE_ROLES = {Scope.READ: Role.READER, Scope.ADMIN: Role.ADMIN}


class EndedSessionIds(Protocol):
    """The sessions that ended lately, and whether that list is current."""

    current: bool

    def __contains__(self, session_id: object) -> bool: ...


class Authenticator:
    def __init__(self, issuer: TokenIssuer, ended_sessions: EndedSessionIds) -> None:
        self._tokens = VerifiedTokens(issuer.verify)
        self._ended = ended_sessions

    def authenticate(self, origin: Origin, authorization: str | None) -> Principal:
        service_role = _SERVICE_ROLES.get(origin.scope) if origin.scope else None
        if origin.caller is not None and service_role is not None:
            return Principal(subject=f"app:{origin.caller}", role=service_role)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("a Bearer access token is required")
        try:
            claims = self._claims(token.strip())
        except InvalidToken:
            raise _unauthenticated("the access token is invalid or expired") from None
        except SessionOver:
            raise session_ended() from None
        except SessionsUnknown:
            raise Problem(
                503,
                "sessions-unavailable",
                "Sessions cannot be checked right now",
                "retry in a moment",
                headers={"Retry-After": "1"},
            ) from None
        if claims.is_admin:
            return Principal(subject=claims.subject, role=Role.ADMIN)
        session = claims.session
        assert session is not None  # _claims refuses a customer's token without one
        return Principal(claims.subject, Role.CUSTOMER, session.id, Access(session.epoch))

    def _claims(self, token: str) -> Claims:
        """A token's claims, if it may be used: an admin's, or a customer's that
        names a session which has not ended."""
        claims = self._tokens.verify(token, time.time())
        if claims.is_admin:
            return claims
        if claims.session is None:
            raise InvalidToken("a customer's token names its session")
        if claims.session.id in self._ended:
            raise SessionOver
        if not self._ended.current:
            raise SessionsUnknown
        return claims

    def bearer_is_valid(self, headers: Headers) -> bool:
        """For the gate: does the request carry a Bearer token we accept?"""
        values = [value for key, value in headers if key == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, token = values[0].decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            self._claims(token.strip())
        except (InvalidToken, SessionOver):
            return False
        except SessionsUnknown:
            return True  # a good token: the route answers 503 to retry
        return True


class SessionOver(Exception):
    """The token's session has ended."""


class SessionsUnknown(Exception):
    """What ended lately is not known to this process right now."""


def session_ended() -> Problem:
    return Problem(
        401,
        "session-ended",
        "The session has ended; sign in again",
        "the session of this access token has ended",
        headers=dict(BEARER_CHALLENGE),
    )


def _unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers=dict(BEARER_CHALLENGE),
    )
