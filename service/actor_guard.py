"""The actor host obeys only this service.

- A method call must carry this service's signature (security/command_signature.py)
  over actor type, id, method, body and time; reads included. Nothing else
  reaches the actor, so a refused call changes nothing and shows nothing.
- The answer to a signed call is signed too (over the call's signature, the
  status and the body): any app may register our actor types with placement
  and host some of our actor ids, but it cannot forge what they answer.
- Deactivation comes from our own sidecar with no signature; the same path
  asked through a sidecar's actor API carries ``Dapr-API-Call`` (and
  ``X-Dapr-Remote`` when routed from another sidecar): a forgery.
- Timers and reminders: this service sets one reminder, the erasure deadline
  (actors/reminders.py); its callback is let through from our own sidecar
  (with no mark of a forgery), by name only: it makes the actor decide on its
  document whether an erasure is due, so a forged or stale one does nothing.
  Any other reminder and every timer is refused (the SDK would run whatever
  method a timer's body names).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.reminders import ERASURE_REMINDER
from security import command_signature
from security.macs import MacKeyring
from service.asgi import HttpMiddleware
from service.gate import refuse
from service.origin import Refused

CALLBACK_METHODS = ("remind/", "timer/")
FORGED_CALLBACK_MARKS = frozenset({b"dapr-api-call", b"x-dapr-remote"})
# Actor commands are small; daprd's own request limit is 4 MB.
MAX_BODY_BYTES = 4 * 1024 * 1024


class ActorCallGuard(HttpMiddleware):
    def __init__(
        self, app: ASGIApp, keys: MacKeyring, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(app)
        self._keys = keys
        self._clock = clock

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if not path.startswith("/actors/"):
            await self.app(scope, receive, send)
            return
        try:
            signature, receive = await self._check(scope, receive, path)
        except Refused as refusal:
            await refuse(send, refusal, path)
            return
        if signature is not None:
            send = self._signing(send, signature)
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive, path: str) -> tuple[str | None, Receive]:
        """The call's signature (None for a deactivation) and its body to read."""
        parts = path.split("/")  # "", "actors", type, id, "method", name...
        if len(parts) >= 6 and parts[4] == "method":
            method = "/".join(parts[5:])
            if method == f"remind/{ERASURE_REMINDER}" and scope["method"] == "PUT":
                _refuse_forged_callback(scope)
                return None, receive
            if method.startswith(CALLBACK_METHODS):
                # No other timer or reminder is ours: whoever asks is not Dapr
                # acting for us (the SDK would run the method the body names).
                raise Refused(403, "forged-callback", "This service has no such timer or reminder")
            body = await _read_body(receive)
            signature = next(
                (
                    value.decode("latin-1")
                    for key, value in scope["headers"]
                    if key == command_signature.HEADER.encode()
                ),
                None,
            )
            if signature is None or not command_signature.verify(
                self._keys, signature, parts[2], parts[3], method, body, self._clock()
            ):
                raise Refused(403, "unsigned-actor-call", "Actor calls must be signed")
            return signature, _replay(body, receive)
        if len(parts) == 4 and scope["method"] == "DELETE":
            _refuse_forged_callback(scope)  # deactivation
            return None, receive
        raise Refused(404, "http-404", "Not found")

    def _signing(self, send: Send, request_signature: str) -> Send:
        """Hold the answer until its body is known, then send it signed."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def signed_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            tag = command_signature.sign_reply(self._keys, request_signature, start["status"], body)
            headers = [
                *start.get("headers", []),
                (command_signature.REPLY_HEADER.encode(), tag.encode()),
            ]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return signed_send


def _refuse_forged_callback(scope: Scope) -> None:
    if any(key in FORGED_CALLBACK_MARKS for key, _ in scope["headers"]):
        raise Refused(403, "forged-callback", "Only the sidecar may send actor callbacks")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Refused(400, "bad-request", "The request ended early")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, "too-large", "The actor call is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, rest: Receive) -> Receive:
    """The body once more, then whatever the connection says next."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await rest()

    return receive
