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

Our actors keep nothing between calls (actors/customer_shell.py), so the SDK's
manager, which keeps every activated actor's object until the sidecar
deactivates it, is replaced by ``PerCallActors``: each call gets a fresh
object and none is kept. The sidecar's turn lock still runs one call per
actor at a time, whichever process of the app takes it, so several processes
can serve one sidecar's app port (service/__main__.py): none keeps a copy of
an actor to go stale, and an idle actor costs the app no memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

from dapr.actor import Actor, ActorInterface, Remindable, actormethod
from dapr.actor.id import ActorId
from dapr.actor.runtime._method_context import ActorMethodContext
from dapr.actor.runtime.context import ActorRuntimeContext
from dapr.actor.runtime.manager import ActorManager
from dapr.actor.runtime.runtime import ActorRuntime

from actors import codec
from actors.protocol import ActorMethod, ActorType, Refused
from observability.metrics import ACTOR_CALLS


class HostedActor(Actor):  # type: ignore[misc]
    """A Dapr actor that hands every call to its handlers (one per method), and a
    reminder to their ``reminder`` method, if they have one (by name only: what
    a reminder carries is not trusted)."""

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, handlers: object) -> None:
        super().__init__(ctx, actor_id)
        self.handlers = handlers

    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        reminder = getattr(self.handlers, "reminder", None)
        if reminder is not None:
            await reminder(name)


class PerCallActors(ActorManager):  # type: ignore[misc]
    """The SDK's actor manager, keeping nothing: a fresh actor object for each
    call (method, timer or reminder), dropped after it. Activation builds
    nothing ahead, and a deactivation finds nothing to drop."""

    async def activate_actor(self, actor_id: ActorId) -> None:
        return None

    async def deactivate_actor(self, actor_id: ActorId) -> None:
        return None

    async def _dispatch_internal(
        self,
        actor_id: ActorId,
        method_context: ActorMethodContext,
        dispatch_action: Callable[[Actor], Awaitable[bytes | None]],
    ) -> object:
        actor = self._runtime_ctx.create_actor(actor_id)
        return await dispatch_action(actor)


async def serve_per_call(actor: type[HostedActor]) -> None:
    """Serve ``actor`` (registered with the SDK's runtime) with ``PerCallActors``."""
    name = actor.__name__
    # The SDK offers no way to choose the manager of a type: its registry it is.
    async with ActorRuntime._actor_managers_lock:
        registered = ActorRuntime._actor_managers[name]
        ActorRuntime._actor_managers[name] = PerCallActors(registered._runtime_ctx)


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
    # The SDK delivers reminders only to a class that names Remindable among its
    # own bases (dapr/actor/runtime/_type_information.py).
    bases = (HostedActor, interface, Remindable)
    return cast(type[HostedActor], type(actor_type.name, bases, methods))


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
    calls = ACTOR_CALLS.labels(actor_type.name, method.name)
    if method.request is None:

        async def call_without_request(self: HostedActor) -> Any:
            calls.inc()
            return codec.encode_reply(await getattr(self.handlers, method.name)())

        return call_without_request

    async def call(self: HostedActor, payload: Any) -> Any:
        calls.inc()
        request = codec.decode_request(actor_type, method, payload, str(self.id.id))
        if isinstance(request, Refused):
            return codec.encode_reply(request)
        return codec.encode_reply(await getattr(self.handlers, method.name)(request))

    return call
