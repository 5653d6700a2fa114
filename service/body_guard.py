"""Request bodies are checked before anything parses them: size, then nesting.

- Above the size limit: ``413``. A declared ``Content-Length`` above it is
  refused without reading the body; a body without one (chunked) is counted as
  it arrives and refused as soon as it passes the limit. (What the client
  still sends is read and dropped, up to ``DRAIN_BYTES``, so that it reads the
  answer rather than a reset connection.)
- JSON nested deeper than ``max_depth``: ``422``. No body of this API nests
  that deep; parsing such a body costs stack and time for nothing, and at a
  few hundred levels the parser or the encoders fail.

What passes is handed on unchanged. The routes only the sidecar calls
(events with whole snapshots, actor calls) have a larger size limit and no
depth check.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.asgi import HttpMiddleware
from service.problems import PROBLEM_JSON, problem_body

DRAIN_BYTES = 8 * 1024 * 1024
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deep the JSON ``body`` nests (an estimate for malformed JSON: never less)."""
    if body.count(b"[") + body.count(b"{") == 0:
        return 0
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BodyGuard(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        internal_max_bytes: int,
        internal_prefixes: tuple[str, ...],
        max_depth: int,
    ) -> None:
        super().__init__(app)
        self._max = max_bytes
        self._internal_max = internal_max_bytes
        self._internal_prefixes = internal_prefixes
        self._max_depth = max_depth

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        internal = scope["path"].startswith(self._internal_prefixes)
        limit = self._internal_max if internal else self._max
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared <= DRAIN_BYTES:
                await _drain(receive, 0)
            await _too_large(scope, send, limit)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending its body: let the app see that.
                await self.app(scope, _replay(message, receive), send)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            more = bool(message.get("more_body", False))
            if received > limit:
                if more:
                    await _drain(receive, received)
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not more:
                break
        body = b"".join(chunks)
        if not internal and body.count(b"[") + body.count(b"{") > self._max_depth:
            depth = json_depth(body)
            if depth > self._max_depth:
                await _too_deep(scope, send, self._max_depth)
                return
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay(whole, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before it gets here
    return None


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands on ``first``, then the real one (disconnects)."""
    pending = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


async def _drain(receive: Receive, received: int) -> None:
    while received <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body = problem_body(
        413,
        "payload-too-large",
        "The request body is too large",
        scope["path"],
        detail=f"request bodies are limited to {limit} bytes",
    )
    await _answer(send, 413, body)


async def _too_deep(scope: Scope, send: Send, max_depth: int) -> None:
    message = f"JSON nests deeper than {max_depth} levels"
    document = json.loads(
        problem_body(
            422,
            "validation-failed",
            "The request is not valid",
            scope["path"],
            detail="1 field error(s)",
        )
    )
    document["errors"] = [{"field": "body", "in": "body", "message": message, "code": "too_deep"}]
    await _answer(send, 422, json.dumps(document, separators=(",", ":")).encode())
