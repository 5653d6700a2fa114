"""Calling a Customer actor from a route, and turning its refusals into problems."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from actors.invoker import ActorInvoker, InvalidActorAddress, SidecarUnavailable
from service.problems import Problem

CUSTOMER_ACTOR = "Customer"

# Refusal code -> (HTTP status, problem slug, title).
_REFUSALS: dict[str, tuple[int, str, str]] = {
    "not_found": (404, "customer-not-found", "Customer not found"),
    "deleted": (410, "customer-deleted", "Customer is deleted"),
    "not_deleted": (409, "customer-not-deleted", "Customer is not deleted"),
    "already_exists": (409, "already-exists", "Customer already exists"),
    "email_taken": (409, "email-taken", "Email already in use"),
    "legacy_id_taken": (409, "legacy-id-taken", "Legacy id already in use"),
    "conflict": (409, "conflict", "The customer changed concurrently; retry"),
    "version_mismatch": (412, "version-mismatch", "The customer is not at the version in If-Match"),
    "address_not_found": (404, "address-not-found", "Address not found"),
    "address_exists": (409, "address-exists", "Address already exists"),
    "too_many_addresses": (409, "too-many-addresses", "Address limit reached"),
    "default_required": (409, "default-required", "A default address is required"),
    "idempotency_key_reused": (
        422,
        "idempotency-key-reused",
        "Idempotency-Key was already used for a different request",
    ),
    "idempotent_resource_gone": (
        409,
        "idempotent-resource-gone",
        "What this Idempotency-Key created no longer exists",
    ),
    "invalid": (422, "validation-failed", "The request is not valid"),
    "invalid_credentials": (401, "invalid-credentials", "Email or password is wrong"),
    "locked": (423, "locked", "Account temporarily locked"),
    "account_disabled": (403, "account-disabled", "The account is disabled"),
    "invalid_challenge": (401, "invalid-challenge", "The login challenge is not valid"),
    "invalid_second_factor": (
        422,
        "invalid-second-factor",
        "The code is wrong or was already used",
    ),
    "two_factor_state": (409, "two-factor-state", "Two-factor authentication is not in that state"),
    "invalid_token": (400, "invalid-token", "The token is unknown, used or expired"),
    "already_verified": (409, "already-verified", "The email is already verified"),
    "unavailable": (503, "unavailable", "Customer storage is unavailable"),
}


def refusal_problem(error: dict[str, Any]) -> Problem:
    status, slug, title = _REFUSALS.get(
        str(error.get("code", "")), (500, "internal", "Internal server error")
    )
    if status >= 500:
        # Nothing was committed, or the commit's outcome is unknown: a retry
        # (with the same Idempotency-Key or If-Match) is safe.
        return Problem(status, slug, title, headers={"Retry-After": "1"})
    extra: dict[str, Any] = {}
    if errors := error.get("errors"):
        extra["errors"] = [{**e, "in": "body"} for e in errors]
    headers = None
    if (retry_after := error.get("retry_after")) is not None:
        headers = {"Retry-After": str(int(retry_after))}
    return Problem(status, slug, title, error.get("detail"), headers=headers, **extra)


def sidecar_unavailable() -> Problem:
    """The call may or may not have reached the actor: a retry is safe (the
    same Idempotency-Key, or If-Match, makes it apply at most once)."""
    return Problem(
        503, "unavailable", "The Dapr sidecar is unavailable", headers={"Retry-After": "1"}
    )


async def call_customer(
    actors: ActorInvoker, customer_id: str, method: str, payload: Any = None
) -> dict[str, Any]:
    """The actor's reply when it succeeded; a problem for anything else."""
    try:
        reply = await actors.call(CUSTOMER_ACTOR, customer_id, method, payload)
    except SidecarUnavailable as exc:
        raise sidecar_unavailable() from exc
    except InvalidActorAddress:
        raise Problem(404, "customer-not-found", "Customer not found") from None
    if not reply.get("ok"):
        raise refusal_problem(reply.get("error") or {})
    return reply


def tag_version(response: Response, version: int) -> None:
    """Every reply says which customer version it shows."""
    response.headers["ETag"] = f'"{version}"'
