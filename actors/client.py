"""Typed calls to the methods of one actor type, through the sidecar."""

from __future__ import annotations

from typing import Generic

from actors import codec
from actors.invoker import ActorInvoker
from actors.protocol import ActorMethod, ActorType, C, Q, R, Refused


class ActorClient(Generic[C]):
    """``call`` answers the method's reply or the actor's refusal; it raises
    ``SidecarUnavailable`` (the call may or may not have reached the actor),
    ``InvalidActorAddress`` and ``UnexpectedReply``."""

    def __init__(self, invoker: ActorInvoker, actor_type: ActorType[C]) -> None:
        self._invoker = invoker
        self._type = actor_type

    async def call(self, actor_id: str, method: ActorMethod[Q, R], request: Q) -> R | Refused[C]:
        if method not in self._type.methods:
            raise ValueError(f"{method.name} is not a method of {self._type.name}")
        answer = await self._invoker.call(
            self._type.name, actor_id, method.name, codec.encode_request(method, request)
        )
        return codec.decode_reply(self._type, method, answer)
