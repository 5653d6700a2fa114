"""Routes only the Dapr sidecar may call: actor calls, actor config, event delivery.

They share the app's port with the public API, so when an app API token is
configured (APP_API_TOKEN, which the sidecar sends as ``dapr-api-token``), a
call without it is refused before it reaches the actor host. Compared in
constant time.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from service.problems import PROBLEM_JSON, problem_body

SIDECAR_ONLY_PREFIXES = ("/actors/", "/dapr/", "/events/")


class SidecarOnlyGuard:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._token is None
            or scope["type"] != "http"
            or not scope["path"].startswith(SIDECAR_ONLY_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        presented = next(
            (value for key, value in scope["headers"] if key == b"dapr-api-token"), b""
        )
        if hmac.compare_digest(presented, self._token):
            await self.app(scope, receive, send)
            return
        body = problem_body(
            401, "unauthenticated", "Only the Dapr sidecar may call this route", scope["path"]
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", PROBLEM_JSON.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
