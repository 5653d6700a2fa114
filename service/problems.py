"""RFC 9457 problem details: the only shape an error leaves this service in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import FieldError
from observability.logging import get_logger
from observability.metrics import ERRORS, endpoint_label

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
# What a 401 for a missing, bad or ended access token says to ask for.
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="customer-service"'}
_TYPE_BASE = "urn:customer-service:problem:"
# Postgres could not be reached (sign-in state, the read model): the request did
# nothing that a retry could repeat wrongly.
DATABASE_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra


def validation_failed(errors: Sequence[FieldError], where: str = "body") -> Problem:
    """422 with every field error of a body (or of the query: ``where``) at once."""
    return Problem(
        422,
        "validation-failed",
        "The request is not valid",
        f"{len(errors)} field error(s)",
        errors=[
            {"field": e.field, "in": where, "message": e.message, "code": e.code} for e in errors
        ],
    )


def problem_body(
    status: int, slug: str, title: str, instance: str, detail: str | None = None
) -> bytes:
    """A minimal problem document, for answers given outside FastAPI's handlers."""
    document: dict[str, Any] = {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "instance": instance,
    }
    if detail:
        document["detail"] = detail
    return json.dumps(document, separators=(",", ":")).encode()


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    ERRORS.labels(slug, endpoint_label(request.scope)).inc()
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        # loc is ("body", "email") or ("path", "customer_id"): keep the field path.
        location = [str(part) for part in error.get("loc", ())]
        where = location[0] if location else "body"
        field = ".".join(location[1:]) or where
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        errors.append({"field": field, "in": where, "message": message, "code": error["type"]})
    return errors


async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("the database is unreachable", error=type(exc).__name__)
    response = problem_response(request, 503, "unavailable", "The database is unavailable; retry")
    response.headers["Retry-After"] = "1"
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        response = problem_response(
            request, exc.status, exc.slug, exc.title, exc.detail, **exc.extra
        )
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        return problem_response(
            request,
            422,
            "validation-failed",
            "The request is not valid",
            f"{len(errors)} field error(s)",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem_response(
            request,
            exc.status_code,
            "http-" + str(exc.status_code),
            titles.get(exc.status_code, "Request failed"),
        )

    for failure in DATABASE_UNREACHABLE:
        app.add_exception_handler(failure, _unreachable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the cause for operators; never hand internals to the caller.
        log.exception("unhandled error", method=request.method, path=request.url.path)
        return problem_response(request, 500, "internal", "Internal server error")
