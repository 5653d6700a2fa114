"""Dapr actor classes derived from an actor type's declarations.

The SDK builds its dispatch table from the ``ActorInterface`` subclasses of
the actor class (dapr/actor/runtime/_type_utils.py): for each function in the
interface's ``__dict__`` it reads the ``__actormethod__`` name and the argument
names of its code (one argument: the body is deserialized and passed; none:
the method is called without), then calls the attribute of that name on the
actor. So both classes are generated here with ``type()`` from the
``ActorType``'s method list: a method is declared once, and each generated
method decodes the request, calls the handler of the same name and encodes
what it answers. The class is named after the actor type, the name the SDK
registers it under.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from dapr.actor import Actor, ActorInterface, actormethod
from dapr.actor.id import ActorId
from dapr.actor.runtime.context import ActorRuntimeContext

from actors import codec
from actors.protocol import ActorMethod, ActorType, Refused
from observability.metrics import ACTOR_ACTIVATIONS, ACTORS_ACTIVE


class HostedActor(Actor):  # type: ignore[misc]
    """A Dapr actor that hands every call to its handlers (one per method)."""

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, handlers: object) -> None:
        super().__init__(ctx, actor_id)
        self.handlers = handlers

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.labels(type(self).__name__).inc()
        ACTORS_ACTIVE.labels(type(self).__name__).inc()

    async def _on_deactivate(self) -> None:
        ACTORS_ACTIVE.labels(type(self).__name__).dec()


def actor_class(actor_type: ActorType[Any], handlers: type) -> type[HostedActor]:
    """The actor class of ``actor_type``, whose instances delegate to an instance
    of ``handlers`` (which must have a method of each declared name)."""
    missing = [m.name for m in actor_type.methods if not callable(getattr(handlers, m.name, None))]
    if missing:
        raise TypeError(f"{handlers.__name__} handles no {', '.join(missing)}")
    interface = type(
        f"{actor_type.name}Interface",
        (ActorInterface,),
        {m.name: actormethod(name=m.name)(_stub(m)) for m in actor_type.methods},
    )
    methods = {m.name: _delegate(actor_type, m) for m in actor_type.methods}
    return cast(type[HostedActor], type(actor_type.name, (HostedActor, interface), methods))


def _stub(method: ActorMethod[Any, Any]) -> Callable[..., Awaitable[Any]]:
    """What the SDK reads: the method's name and whether it takes the body."""
    if method.request is None:

        async def without_request(self: Any) -> Any:
            raise NotImplementedError

        return without_request

    async def with_request(self: Any, request: Any) -> Any:
        raise NotImplementedError

    return with_request


def _delegate(
    actor_type: ActorType[Any], method: ActorMethod[Any, Any]
) -> Callable[..., Awaitable[Any]]:
    if method.request is None:

        async def call_without_request(self: HostedActor) -> Any:
            return codec.encode_reply(await getattr(self.handlers, method.name)())

        return call_without_request

    async def call(self: HostedActor, payload: Any) -> Any:
        request = codec.decode_request(actor_type, method, payload, str(self.id.id))
        if isinstance(request, Refused):
            return codec.encode_reply(request)
        return codec.encode_reply(await getattr(self.handlers, method.name)(request))

    return call
