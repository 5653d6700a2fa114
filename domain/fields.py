"""Records declared once: a dataclass's fields say what a record holds, and its
document form (the JSON kept in the state store, carried by events, shown by
the API) is derived from their types.

A field's annotation says what else it is: ``Settable`` (a client sets it on
create and update), ``Part`` (a record of its own with its own document form)
or ``Internal`` (never in a snapshot, an event or a reply). The field lists the
decisions, the schemas' checks and the read model need are read from there.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from domain.timestamps import timestamp


class Role(enum.Enum):
    SETTABLE = "settable"
    PART = "part"
    INTERNAL = "internal"


T = TypeVar("T")
# What else a field is, said in its annotation: ``email: Settable[str]``.
Settable = Annotated[T, Role.SETTABLE]
Part = Annotated[T, Role.PART]
Internal = Annotated[T, Role.INTERNAL]

_HINTS: dict[tuple[type[Any], bool], dict[str, Any]] = {}


def _hints(cls: type[Any], extras: bool = False) -> dict[str, Any]:
    hints = _HINTS.get((cls, extras))
    if hints is None:
        hints = _HINTS[cls, extras] = typing.get_type_hints(cls, include_extras=extras)
    return hints


def _role(cls: type[Any], name: str) -> Role | None:
    hint = _hints(cls, extras=True)[name]
    if typing.get_origin(hint) is not Annotated:
        return None
    return next((mark for mark in hint.__metadata__ if isinstance(mark, Role)), None)


def names(cls: type[Any], role: Role) -> tuple[str, ...]:
    """The fields of ``cls`` marked with ``role``, in order."""
    return tuple(f.name for f in dataclasses.fields(cls) if _role(cls, f.name) is role)


def flat_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields that are plain values shown to the outside (no part, not internal)."""
    hidden = (Role.PART, Role.INTERNAL)
    return tuple(f.name for f in dataclasses.fields(cls) if _role(cls, f.name) not in hidden)


def _optional(kind: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if typing.get_origin(kind) not in (typing.Union, types.UnionType):
        return None
    others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    return others[0] if len(others) == 1 else None


def to_json(value: Any) -> Any:
    """A field's value in its document form."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse(kind: Any, value: Any) -> Any:
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind is bool:
        return bool(value)
    if kind is int:
        return int(value)
    if typing.get_origin(kind) is dict:
        return dict(value or {})
    return value


def from_json(kind: Any, value: Any) -> Any:
    """A field's value from its document form (an absent optional value is None)."""
    inner = _optional(kind)
    if inner is None:
        return _parse(kind, value)
    if inner is str:
        return value
    return _parse(inner, value) if value else None


def dump(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    """``fields`` of ``record`` in document form."""
    return {name: to_json(getattr(record, name)) for name in fields}


def load(cls: type[Any], document: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Typed values of ``fields`` of ``cls`` read from ``document``.

    An absent optional value is None, an absent flag False and an absent
    free-form object empty; any other absent value is a KeyError."""
    hints = _hints(cls)
    return {name: value_of(hints[name], document, name) for name in fields}


def value_of(kind: Any, document: Mapping[str, Any], name: str) -> Any:
    if name in document:
        return from_json(kind, document[name])
    if _optional(kind) is not None:
        return None
    if kind is bool or typing.get_origin(kind) is dict:
        return _parse(kind, None)
    raise KeyError(name)


def typed(cls: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (document form) of some fields of ``cls``, typed."""
    hints = _hints(cls)
    return {name: from_json(hints[name], value) for name, value in values.items()}
