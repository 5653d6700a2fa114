"""Calling a Customer actor from a route, and turning its refusals into problems."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from fastapi import Response

from actors.client import ActorClient
from actors.customer_reads import is_read
from actors.invoker import InvalidActorAddress, SidecarUnavailable
from actors.protocol import ActorMethod, Q, R, Refused
from domain.errors import Refusal
from domain.sessions import Access
from service.problems import BEARER_CHALLENGE, Problem
from service.stored_reads import StoredCustomers


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
    Refusal.SESSION_ENDED: Kind(401, "session-ended", "The session has ended; sign in again"),
    Refusal.WRONG_PASSWORD: Kind(403, "wrong-password", "The password is wrong"),
    Refusal.ERASED: Kind(410, "customer-erased", "Customer is erased"),
    Refusal.ERASURE_NOT_PENDING: Kind(409, "erasure-not-pending", "No erasure is pending"),
    Refusal.WISHLIST_NOT_FOUND: Kind(404, "wishlist-not-found", "Wishlist not found"),
    Refusal.WISHLIST_ITEM_NOT_FOUND: Kind(
        404, "wishlist-item-not-found", "Wishlist item not found"
    ),
    Refusal.TOO_MANY_WISHLISTS: Kind(409, "too-many-wishlists", "Wishlist limit reached"),
    Refusal.TOO_MANY_WISHLIST_ITEMS: Kind(
        409, "too-many-wishlist-items", "Wishlist item limit reached"
    ),
    Refusal.WISHLISTS_TOO_LARGE: Kind(
        409, "wishlists-too-large", "The customer's wishlists are as large as they can be"
    ),
    Refusal.GROUP_NOT_FOUND: Kind(404, "customer-group-not-found", "Customer group not found"),
    Refusal.GROUP_EXISTS: Kind(409, "customer-group-exists", "Customer group already exists"),
    Refusal.GROUP_IN_USE: Kind(409, "customer-group-in-use", "Live customers are in the group"),
    Refusal.GROUP_NOT_RETIRED: Kind(
        409, "customer-group-not-retired", "Retire the customer group first"
    ),
    Refusal.GROUP_SETTLING: Kind(
        409, "customer-group-settling", "The customer group was retired too recently"
    ),
    Refusal.DEFAULT_GROUP_REQUIRED: Kind(
        409, "default-group-required", "The default customer group stays"
    ),
    Refusal.ERASURE_DUE: Kind(409, "erasure-due", "The erasure is due and can no longer be undone"),
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
    headers: dict[str, str] = {}
    if refused.retry_after is not None:
        headers["Retry-After"] = str(refused.retry_after)
    if refused.code is Refusal.SESSION_ENDED:
        headers.update(BEARER_CHALLENGE)
    if refused.code is Refusal.ERASED:
        extra["erased"] = True
    return Problem(status, slug, title, refused.detail, headers=headers or None, **extra)


def sidecar_unavailable() -> Problem:
    """The call may or may not have reached the actor: a retry is safe (the
    same Idempotency-Key, or If-Match, makes it apply at most once)."""
    return Problem(
        503, "unavailable", "The Dapr sidecar is unavailable", headers={"Retry-After": "1"}
    )


class CustomerActors:
    """The routes' way to a customer: typed calls, refusals as problems.

    Commands go to the customer's actor. Reads (actors/customer_reads.py) are
    answered from the committed document (``stored``, service/stored_reads.py)
    by the same rules, without the actor's turn.

    Bound to a caller's session (``acting_for``), every request that can name
    one (an ``access`` field) names it, so the call is refused if that session
    ended."""

    def __init__(
        self,
        client: ActorClient[Refusal],
        stored: StoredCustomers | None = None,
        access: Access | None = None,
    ) -> None:
        self.client = client
        self._stored = stored
        self._access = access

    def acting_for(self, access: Access | None) -> CustomerActors:
        return self if access is None else CustomerActors(self.client, self._stored, access)

    async def ask(self, customer_id: str, method: ActorMethod[Q, R], request: Q) -> R:
        """The actor's reply when it succeeded; a problem for anything else."""
        reply = await self.call(customer_id, method, request)
        if isinstance(reply, Refused):
            raise refusal_problem(reply)
        return reply

    async def call(
        self, customer_id: str, method: ActorMethod[Q, R], request: Q
    ) -> R | Refused[Refusal]:
        """The actor's reply or its refusal (for a caller that weighs it); a
        problem if the actor could not be asked."""
        if self._stored is not None and is_read(method):
            return await self._stored.answer(customer_id, method, self._bound(request))
        try:
            return await self.client.call(customer_id, method, self._bound(request))
        except SidecarUnavailable as exc:
            raise sidecar_unavailable() from exc
        except InvalidActorAddress:
            raise Problem(404, "customer-not-found", "Customer not found") from None

    def _bound(self, request: Q) -> Q:
        if self._access is None or not _names_access(request):
            return request
        return dataclasses.replace(request, access=self._access)  # type: ignore[type-var]


def _names_access(request: object) -> bool:
    return dataclasses.is_dataclass(request) and any(
        field.name == "access" for field in dataclasses.fields(request)
    )


def tag_version(response: Response, version: int) -> None:
    """Every reply says which customer version it shows."""
    response.headers["ETag"] = f'"{version}"'
