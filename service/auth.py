"""Who is calling, and may they touch this customer?

The gate (service/gate.py) has already decided where the request came from.
A named service calling through Dapr acts with its configured scope (``read``
or ``admin``); everyone else, a ``forward`` caller's end user included, is
judged by a Bearer access token: role ``admin``, or role ``customer`` acting
on its own id. Missing or bad tokens get 401; a caller reaching beyond what
it may do gets 403.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Annotated

from fastapi import Depends, Request

from security.access_tokens import InvalidToken, TokenIssuer, VerifiedTokens
from service.callers import Scope
from service.origin import DIRECT, Headers, Origin
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


def _forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Not allowed", detail)


async def _principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    origin: Origin = getattr(request.state, "origin", DIRECT)
    principal = authenticator.authenticate(origin, request.headers.get("authorization"))
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(_principal)]


def _is_owner(request: Request, caller: Principal) -> bool:
    customer_id = str(request.path_params.get("customer_id", ""))
    return caller.role is Role.CUSTOMER and caller.subject == customer_id


async def _owner_or_admin(request: Request, caller: Caller) -> Principal:
    """For routes under /customers/{customer_id}: that customer, or an admin."""
    if caller.is_admin or _is_owner(request, caller):
        return caller
    raise _forbidden("a customer may only act on itself")


async def _owner_admin_or_reader(request: Request, caller: Caller) -> Principal:
    """Look-ups of one customer: also services with the read scope."""
    if caller.role is Role.READER:
        return caller
    return await _owner_or_admin(request, caller)


async def _admin(caller: Caller) -> Principal:
    if caller.is_admin:
        return caller
    raise _forbidden("this operation needs the admin role")


async def _admin_or_reader(caller: Caller) -> Principal:
    if caller.role is Role.READER:
        return caller
    return await _admin(caller)


OwnerOrAdmin = Depends(_owner_or_admin)
OwnerAdminOrReader = Depends(_owner_admin_or_reader)
AdminOnly = Depends(_admin)
AdminOrReader = Depends(_admin_or_reader)
Owner = Annotated[Principal, OwnerOrAdmin]
