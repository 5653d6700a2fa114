"""The outermost layer of every request: security headers, metrics, access log, trace id.

One layer wraps the whole stack, Starlette's ServerErrorMiddleware (which
answers the 500s) included, so a 500 carries the headers too and is counted
and logged with its status. One wrapper of ``send`` does all of it: each
layer costs every request a call and a closure.

With several API processes on one port (service/__main__.py), the process
that accepts a connection keeps it as long as the client does, and the
kernel hands new connections to whichever process wakes first: a few
long-lived connections (daprd's pool, a gateway's, a benchmark's) can pile
onto one process while the other idles. Every ``rebalance_every``-th answer
of a process asks its client to reconnect (``Connection: close``); the
reconnection is accepted by the process that is free to accept it. It costs
one loopback connect per that many requests.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.customer_protocol import CUSTOMER
from observability.access_log import AccessLog
from observability.logging import request_traceparent
from observability.metrics import REQUEST_DURATION, REQUESTS, endpoint_label

access_log = AccessLog("customer_service.access")

# Scraped or probed every few seconds: counted, not logged.
_QUIET = frozenset({"/metrics", "/livez", "/readyz", "/healthz"})

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
_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)
# The docs page loads its script from a CDN, which default-src 'self' forbids.
_DOCS = ("/api/v1/customers/docs", "/api/v1/customers/openapi.json")
_DOCS_HEADERS = tuple(h for h in SECURITY_HEADERS if h[0] != b"content-security-policy")


_CLOSE = (b"connection", b"close")
# A connection's share of requests is rebalanced about every 100 of a process's
# answers: at a thousand requests a second, ten reconnections.
REBALANCE_EVERY = 100


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, rebalance_every: int = 0) -> None:
        self.app = app
        self._rebalance_every = rebalance_every
        self._answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # uvicorn runs each request in a task of its own, with a copy of the
        # server's context: what a request binds (the customer id it logs)
        # ends with it. The trace of the request is set whatever it is.
        traceparent = next((v for k, v in scope["headers"] if k == b"traceparent"), None)
        request_traceparent.set(None if traceparent is None else traceparent.decode("latin-1"))
        extra = _DOCS_HEADERS if scope["path"] in _DOCS else SECURITY_HEADERS
        status = 500
        started = time.perf_counter()

        async def send_at_the_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers} & _NAMES
                headers.extend(h for h in extra if h[0] not in present)
                if self._rebalance():
                    headers.append(_CLOSE)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_at_the_edge)
        finally:
            _record(scope, status, time.perf_counter() - started)

    def _rebalance(self) -> bool:
        if not self._rebalance_every:
            return False
        self._answered += 1
        return self._answered % self._rebalance_every == 0


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
    line = {
        "method": method,
        "endpoint": endpoint,
        "status": status,
        "duration_ms": round(duration * 1000, 2),
    }
    if customer_id:
        line["customer_id"] = str(customer_id)
    access_log.write(line)
