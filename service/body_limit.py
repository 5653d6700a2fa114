"""Request bodies above a size limit get ``413``, before anything parses them.

A declared ``Content-Length`` above the limit is refused without reading the
body; a body without one (chunked) is counted as it arrives and refused as
soon as it passes the limit. What is under the limit is handed on unchanged.
The routes only the sidecar calls (events with whole snapshots, actor calls)
have a larger limit of their own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.problems import PROBLEM_JSON, problem_body


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        internal_max_bytes: int,
        internal_prefixes: tuple[str, ...],
    ) -> None:
        self.app = app
        self._max = max_bytes
        self._internal_max = internal_max_bytes
        self._internal_prefixes = internal_prefixes

    def _limit(self, path: str) -> int:
        return self._internal_max if path.startswith(self._internal_prefixes) else self._max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, send, limit)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending its body: let the app see that.
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before it gets here
    return None


def _replay(chunks: list[bytes], first: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands on the body read so far, then the real one."""
    pending: list[Message] = (
        [first]
        if first is not None
        else [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
    )

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body = problem_body(
        413,
        "payload-too-large",
        "The request body is too large",
        scope["path"],
        detail=f"request bodies are limited to {limit} bytes",
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
