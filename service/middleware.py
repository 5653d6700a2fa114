"""Per-request metrics, access log and trace id; the security headers."""

from __future__ import annotations

import time

import structlog
from starlette.types import Message, Receive, Scope, Send

from actors.customer_protocol import CUSTOMER
from observability.logging import get_logger, request_traceparent
from observability.metrics import REQUEST_DURATION, REQUESTS, endpoint_label
from service.asgi import HttpMiddleware

log = get_logger("customer_service.access")

# Scraped or probed every few seconds: counted, not logged.
_QUIET = frozenset({"/metrics", "/livez", "/readyz", "/healthz"})


class ObservabilityMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        traceparent = next(
            (value.decode("latin-1") for key, value in scope["headers"] if key == b"traceparent"),
            None,
        )
        token = request_traceparent.set(traceparent)
        structlog.contextvars.clear_contextvars()
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            duration = time.perf_counter() - started
            _record(scope, status, duration)
            request_traceparent.reset(token)


def _record(scope: Scope, status: int, duration: float) -> None:
    endpoint = endpoint_label(scope)
    method = scope["method"]
    REQUESTS.labels(endpoint, method, str(status)).inc()
    REQUEST_DURATION.labels(endpoint, method).observe(duration)
    if endpoint in _QUIET:
        return
    params = scope.get("path_params") or {}
    customer_id = params.get("customer_id")
    if params.get("actor_type_name") == CUSTOMER.name:
        customer_id = params.get("actor_id")
    log.info(
        "request",
        method=method,
        endpoint=endpoint,
        status=status,
        duration_ms=round(duration * 1000, 2),
        **({"customer_id": str(customer_id)} if customer_id else {}),
    )


# The seed's security headers, on every response (errors and docs included).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"content-security-policy", b"default-src 'self'"),
    (b"strict-transport-security", b"max-age=31536000"),
    # Answers about customers are personal data: no shared cache may keep them.
    (b"cache-control", b"no-store"),
)
_DOCS = ("/api/v1/customers/docs", "/api/v1/customers/openapi.json")


class SecurityHeadersMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The docs page loads its script from a CDN, which default-src 'self' forbids.
        headers: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS
        if scope["path"] in _DOCS:
            headers = tuple(h for h in SECURITY_HEADERS if h[0] != b"content-security-policy")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in headers if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
