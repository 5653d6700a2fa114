"""Commands as JSON, for the hop from a route to an actor method.

pydantic validates the domain's plain dataclasses on the way in, so a bad
payload is refused at the actor's door and the domain stays framework-free.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

__all__ = ["ValidationError", "decode", "encode"]


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def encode(command: object) -> dict[str, Any]:
    payload: dict[str, Any] = _adapter(type(command)).dump_python(command, mode="json")
    return payload


def decode(kind: type[T], payload: dict[str, Any]) -> T:
    command: T = _adapter(kind).validate_python(payload)
    return command
