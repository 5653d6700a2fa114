"""Who is calling, and may they touch this customer?

Two ways in: a Bearer access token (a customer acting on itself, or an admin
role), or Dapr's app API token, which the sidecar adds to every call it
delivers, so calls from other services through service invocation are
trusted like an admin. Everything else gets 401; a customer reaching for
another customer gets 403.
"""

from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Annotated

from fastapi import Depends, Request

from security.access_tokens import ADMIN, InvalidToken, TokenIssuer, VerifiedTokens
from service.problems import Problem

SERVICE = "service"


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]

    @property
    def privileged(self) -> bool:
        return ADMIN in self.roles or SERVICE in self.roles


class Authenticator:
    def __init__(self, issuer: TokenIssuer, app_api_token: str | None) -> None:
        self.app_api_token = app_api_token
        self._tokens = VerifiedTokens(issuer.verify)

    def authenticate(self, request: Request) -> Principal:
        presented = request.headers.get("dapr-api-token")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # A caller that brings its own token is judged by it, even through the sidecar.
        if (
            not token.strip()
            and presented is not None
            and self.app_api_token is not None
            and hmac.compare_digest(presented.encode(), self.app_api_token.encode())
        ):
            return Principal(subject="dapr-sidecar", roles=frozenset({SERVICE}))
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("a Bearer access token is required")
        try:
            claims = self._tokens.verify(token.strip(), time.time())
        except InvalidToken:
            raise _unauthenticated("the access token is invalid or expired") from None
        return Principal(subject=claims.subject, roles=claims.roles)


def _unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="customer-service"'},
    )


async def _principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(request)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(_principal)]


async def _customer_or_privileged(request: Request, caller: Caller) -> Principal:
    """For routes under /customers/{customer_id}: that customer, or an admin."""
    customer_id = str(request.path_params.get("customer_id", ""))
    if caller.privileged or caller.subject == customer_id:
        return caller
    raise Problem(403, "forbidden", "Not allowed", "a customer may only act on itself")


async def _privileged(caller: Caller) -> Principal:
    if caller.privileged:
        return caller
    raise Problem(403, "forbidden", "Not allowed", "this operation needs the admin role")


OwnerOrAdmin = Depends(_customer_or_privileged)
AdminOnly = Depends(_privileged)
Owner = Annotated[Principal, OwnerOrAdmin]
