"""The first thing every request meets: where did it come from, may it come in?

Sidecar-only routes take only the sidecar's own callbacks; calls delivered by
service invocation need a caller named in ``CUSTOMER_SERVICE_CALLERS`` or a
valid Bearer token of their own. What the caller may then do is judged by the
routes (service/auth.py), from the origin this leaves in ``request.state``,
with the client's address (``client_address``: rate limits count by it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from service.asgi import HttpMiddleware
from service.callers import Scope as CallerScope
from service.origin import OPEN_PATHS, Headers, Network, Refused, Way, classify, client_address
from service.problems import PROBLEM_JSON, problem_body

READ_METHODS = frozenset({"GET", "HEAD"})


class CallerGate(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        app_token: str | None,
        app_id: str,
        callers: Mapping[str, CallerScope],
        bearer_is_valid: Callable[[Headers], bool],
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        super().__init__(app)
        self._app_token = app_token.encode() if app_token else None
        self._app_id = app_id
        self._callers = dict(callers)
        self._bearer_is_valid = bearer_is_valid
        self._trusted = tuple(trusted_proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        headers: Headers = scope["headers"]
        try:
            origin = classify(path, headers, self._app_token, self._app_id, self._callers)
            if (
                origin.way is Way.INVOCATION
                and origin.scope is None
                and path not in OPEN_PATHS
                and not self._bearer_is_valid(headers)
            ):
                raise Refused(403, "caller-not-allowed", "This caller may not call the service")
            if origin.scope is CallerScope.READ and scope["method"] not in READ_METHODS:
                # Public routes included: a look-up service does not sign people in.
                raise Refused(403, "caller-not-allowed", "This caller may only look up")
        except Refused as refusal:
            await refuse(send, refusal, path)
            return
        peer = scope["client"][0] if scope.get("client") else None
        state = scope.setdefault("state", {})
        state["origin"] = origin
        state["client_address"] = client_address(peer, headers, origin, self._trusted)
        await self.app(scope, receive, send)


async def refuse(send: Send, refusal: Refused, path: str) -> None:
    body = problem_body(refusal.status, refusal.slug, refusal.title, path)
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
