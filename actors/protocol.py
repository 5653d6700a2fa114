"""The typed boundary between a caller and an actor type.

Each method of an actor type is declared once, as an ``ActorMethod``: its wire
name, the request it takes and the reply it answers (actors/customer_protocol.py,
actors/unique_key_protocol.py). The caller's client (actors/client.py) and the
actor's dispatch (actors/hosting.py) are both derived from those declarations.

On the wire a method takes its request as JSON and answers
``{"ok": true, ...the reply's fields}`` or
``{"ok": false, "error": {code, detail, errors?, retry_after?}}``
(actors/codec.py): the FastAPI actor host turns any exception into a 500 that
carries ``repr(ex)``, so expected refusals travel as values.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Generic, TypeVar

Q = TypeVar("Q")
R = TypeVar("R")
C = TypeVar("C", bound=enum.StrEnum)

# A JSON object as the domain renders it (a profile, an address, preferences):
# the HTTP layer's response models validate it.
Document = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str
    code: str


@dataclasses.dataclass(frozen=True, slots=True)
class Refused(Generic[C]):
    """An actor's refusal: nothing was written (or, for ``unavailable``, the
    outcome is unknown)."""

    code: C
    detail: str
    errors: tuple[FieldProblem, ...] = ()
    retry_after: int | None = None


class Sparse:
    """A request whose fields left None are not sent at all (a factor not given
    is absent from the call, as callers have always sent it)."""

    __slots__ = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ActorMethod(Generic[Q, R]):
    """One method: its wire name, its request (None: it takes no argument) and its reply."""

    name: str
    request: type[Q] | None
    reply: type[R]
    # Where the actor's own id goes in the request; it overrides what was sent.
    own_id: tuple[str, ...] = ()


class ActorType(Generic[C]):
    """A Dapr actor type: its name (the SDK names the type after the class, so
    the generated class is named so), its refusal codes and its methods."""

    def __init__(self, name: str, refusals: type[C], bad_request: C) -> None:
        self.name = name
        self.refusals = refusals
        # The refusal of a request that is not the method's (a caller's bug).
        self.bad_request = bad_request
        self._methods: list[ActorMethod[Any, Any]] = []

    @property
    def methods(self) -> tuple[ActorMethod[Any, Any], ...]:
        return tuple(self._methods)

    def method(
        self, name: str, request: type[Q], reply: type[R], own_id: tuple[str, ...] = ()
    ) -> ActorMethod[Q, R]:
        return self._declare(ActorMethod(name, request, reply, own_id))

    def method_without_request(self, name: str, reply: type[R]) -> ActorMethod[None, R]:
        method: ActorMethod[None, R] = ActorMethod(name, None, reply)
        return self._declare(method)

    def _declare(self, method: ActorMethod[Q, R]) -> ActorMethod[Q, R]:
        if any(known.name == method.name for known in self._methods):
            raise ValueError(f"{self.name}.{method.name} is declared twice")
        self._methods.append(method)
        return method
