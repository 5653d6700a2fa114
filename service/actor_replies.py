"""Calling a Customer actor from a route, and turning its refusals into problems."""

from __future__ import annotations

from typing import Any, NamedTuple

from fastapi import Response

from actors.client import ActorClient
from actors.invoker import InvalidActorAddress, SidecarUnavailable
from actors.protocol import ActorMethod, Q, R, Refused
from domain.errors import Refusal
from service.problems import Problem


class Kind(NamedTuple):
    status: int
    slug: str
    title: str


# Every refusal an actor can answer, as the problem a caller sees.
PROBLEMS: dict[Refusal, Kind] = {
    Refusal.NOT_FOUND: Kind(404, "customer-not-found", "Customer not found"),
    Refusal.DELETED: Kind(410, "customer-deleted", "Customer is deleted"),
    Refusal.NOT_DELETED: Kind(409, "customer-not-deleted", "Customer is not deleted"),
    Refusal.ALREADY_EXISTS: Kind(409, "already-exists", "Customer already exists"),
    Refusal.EMAIL_TAKEN: Kind(409, "email-taken", "Email already in use"),
    Refusal.LEGACY_ID_TAKEN: Kind(409, "legacy-id-taken", "Legacy id already in use"),
    Refusal.CONFLICT: Kind(409, "conflict", "The customer changed concurrently; retry"),
    Refusal.VERSION_MISMATCH: Kind(
        412, "version-mismatch", "The customer is not at the version in If-Match"
    ),
    Refusal.ADDRESS_NOT_FOUND: Kind(404, "address-not-found", "Address not found"),
    Refusal.ADDRESS_EXISTS: Kind(409, "address-exists", "Address already exists"),
    Refusal.TOO_MANY_ADDRESSES: Kind(409, "too-many-addresses", "Address limit reached"),
    Refusal.DEFAULT_REQUIRED: Kind(409, "default-required", "A default address is required"),
    Refusal.IDEMPOTENCY_KEY_REUSED: Kind(
        422, "idempotency-key-reused", "Idempotency-Key was already used for a different request"
    ),
    Refusal.IDEMPOTENT_RESOURCE_GONE: Kind(
        409, "idempotent-resource-gone", "What this Idempotency-Key created no longer exists"
    ),
    Refusal.INVALID: Kind(422, "validation-failed", "The request is not valid"),
    Refusal.INVALID_CREDENTIALS: Kind(401, "invalid-credentials", "Email or password is wrong"),
    Refusal.LOCKED: Kind(423, "locked", "Account temporarily locked"),
    Refusal.ACCOUNT_DISABLED: Kind(403, "account-disabled", "The account is disabled"),
    Refusal.INVALID_CHALLENGE: Kind(401, "invalid-challenge", "The login challenge is not valid"),
    Refusal.INVALID_SECOND_FACTOR: Kind(
        422, "invalid-second-factor", "The code is wrong or was already used"
    ),
    Refusal.TWO_FACTOR_STATE: Kind(
        409, "two-factor-state", "Two-factor authentication is not in that state"
    ),
    Refusal.INVALID_TOKEN: Kind(400, "invalid-token", "The token is unknown, used or expired"),
    Refusal.ALREADY_VERIFIED: Kind(409, "already-verified", "The email is already verified"),
    Refusal.UNAVAILABLE: Kind(503, "unavailable", "Customer storage is unavailable"),
    # A request the actor could not read is this service's own bug.
    Refusal.BAD_COMMAND: Kind(500, "internal", "Internal server error"),
}


def refusal_problem(refused: Refused[Refusal]) -> Problem:
    status, slug, title = PROBLEMS[refused.code]
    if status >= 500:
        # Nothing was committed, or the commit's outcome is unknown: a retry
        # (with the same Idempotency-Key or If-Match) is safe.
        return Problem(status, slug, title, headers={"Retry-After": "1"})
    extra: dict[str, Any] = {}
    if refused.errors:
        extra["errors"] = [
            {"field": e.field, "message": e.message, "code": e.code, "in": "body"}
            for e in refused.errors
        ]
    headers = None
    if refused.retry_after is not None:
        headers = {"Retry-After": str(refused.retry_after)}
    return Problem(status, slug, title, refused.detail, headers=headers, **extra)


def sidecar_unavailable() -> Problem:
    """The call may or may not have reached the actor: a retry is safe (the
    same Idempotency-Key, or If-Match, makes it apply at most once)."""
    return Problem(
        503, "unavailable", "The Dapr sidecar is unavailable", headers={"Retry-After": "1"}
    )


class CustomerActors:
    """The routes' way to a Customer actor: typed calls, refusals as problems."""

    def __init__(self, client: ActorClient[Refusal]) -> None:
        self.client = client

    async def ask(self, customer_id: str, method: ActorMethod[Q, R], request: Q) -> R:
        """The actor's reply when it succeeded; a problem for anything else."""
        try:
            reply = await self.client.call(customer_id, method, request)
        except SidecarUnavailable as exc:
            raise sidecar_unavailable() from exc
        except InvalidActorAddress:
            raise Problem(404, "customer-not-found", "Customer not found") from None
        if isinstance(reply, Refused):
            raise refusal_problem(reply)
        return reply


def tag_version(response: Response, version: int) -> None:
    """Every reply says which customer version it shows."""
    response.headers["ETag"] = f'"{version}"'
