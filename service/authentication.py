"""Who is calling: a principal from the request's origin and its Bearer token.

The gate (service/gate.py) has already decided where the request came from.
A named service calling through Dapr acts with its configured scope (``read``
or ``admin``); everyone else, a ``forward`` caller's end user included, is
judged by a Bearer access token: role ``admin``, or role ``customer``. Missing
or bad tokens get 401.
"""

from __future__ import annotations

import dataclasses
import enum
import time

from security.access_tokens import InvalidToken, TokenIssuer, VerifiedTokens
from service.callers import Scope
from service.origin import Headers, Origin
from service.problems import Problem


class Role(enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    # A service with the read scope: look-ups only.
    READER = "reader"


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


_SERVICE_ROLES = {Scope.READ: Role.READER, Scope.ADMIN: Role.ADMIN}


class Authenticator:
    def __init__(self, issuer: TokenIssuer) -> None:
        self._tokens = VerifiedTokens(issuer.verify)

    def authenticate(self, origin: Origin, authorization: str | None) -> Principal:
        service_role = _SERVICE_ROLES.get(origin.scope) if origin.scope else None
        if origin.caller is not None and service_role is not None:
            return Principal(subject=f"app:{origin.caller}", role=service_role)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("a Bearer access token is required")
        try:
            claims = self._tokens.verify(token.strip(), time.time())
        except InvalidToken:
            raise _unauthenticated("the access token is invalid or expired") from None
        role = Role.ADMIN if claims.is_admin else Role.CUSTOMER
        return Principal(subject=claims.subject, role=role)

    def bearer_is_valid(self, headers: Headers) -> bool:
        """For the gate: does the request carry a Bearer token we accept?"""
        values = [value for key, value in headers if key == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, token = values[0].decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            self._tokens.verify(token.strip(), time.time())
        except InvalidToken:
            return False
        return True


def _unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="customer-service"'},
    )
