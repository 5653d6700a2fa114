"""Requests and replies as JSON, for the hop from a caller to an actor method.

pydantic validates the domain's plain dataclasses on the way in, so a bad
request is refused at the actor's door and the domain stays framework-free.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from actors.protocol import ActorMethod, ActorType, C, FieldProblem, Q, R, Refused, Sparse

T = TypeVar("T")

__all__ = [
    "UnexpectedReply",
    "ValidationError",
    "decode",
    "decode_reply",
    "decode_request",
    "encode",
    "encode_reply",
    "encode_request",
]


class UnexpectedReply(Exception):
    """An actor answered something that is not its method's reply."""


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def encode(value: object) -> dict[str, Any]:
    payload: dict[str, Any] = _adapter(type(value)).dump_python(
        value, mode="json", exclude_none=isinstance(value, Sparse)
    )
    return payload


def decode(kind: type[T], payload: object) -> T:
    value: T = _adapter(kind).validate_python(payload)
    return value


# -- the caller's side ----------------------------------------------------------------


def encode_request(method: ActorMethod[Q, R], request: Q) -> dict[str, Any] | None:
    return None if method.request is None else encode(request)


def decode_reply(
    actor_type: ActorType[C], method: ActorMethod[Q, R], answer: Any
) -> R | Refused[C]:
    try:
        if answer.get("ok") is True:
            fields = {name: value for name, value in answer.items() if name != "ok"}
            return decode(method.reply, fields)
        return _refusal(actor_type, answer["error"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply(f"{actor_type.name}.{method.name}: {type(exc).__name__}") from exc


def _refusal(actor_type: ActorType[C], error: dict[str, Any]) -> Refused[C]:
    retry_after = error.get("retry_after")
    return Refused(
        code=actor_type.refusals(error["code"]),
        detail=str(error["detail"]),
        errors=tuple(FieldProblem(**problem) for problem in error.get("errors") or ()),
        retry_after=None if retry_after is None else int(retry_after),
    )


# -- the actor's side -----------------------------------------------------------------


def decode_request(
    actor_type: ActorType[C], method: ActorMethod[Q, R], payload: object, actor_id: str
) -> Q | Refused[C]:
    """The request of a call, or the refusal of one that is not the method's."""
    assert method.request is not None
    if method.own_id:
        payload = _with_own_id(payload, method.own_id, actor_id)
    try:
        return decode(method.request, {} if payload is None else payload)
    except ValidationError as exc:
        # Callers send valid requests; this is one that skipped them.
        detail = f"not a valid {method.request.__name__}: {exc.error_count()} errors"
        return Refused(actor_type.bad_request, detail)


def _with_own_id(payload: object, path: tuple[str, ...], actor_id: str) -> object:
    if not isinstance(payload, dict):
        return payload
    head, *rest = path
    inner = actor_id if not rest else _with_own_id(payload.get(head, {}), tuple(rest), actor_id)
    return {**payload, head: inner}


def encode_reply(reply: object) -> dict[str, Any]:
    """``{"ok": true, ...}`` with the reply's fields (those left None are not
    sent), or ``{"ok": false, "error": {...}}``."""
    if isinstance(reply, Refused):
        return {"ok": False, "error": _error(reply)}
    fields = ((f.name, getattr(reply, f.name)) for f in dataclasses.fields(reply))  # type: ignore[arg-type]
    return {"ok": True, **{name: value for name, value in fields if value is not None}}


def _error(refused: Refused[Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": str(refused.code), "detail": refused.detail}
    if refused.retry_after is not None:
        error["retry_after"] = refused.retry_after
    if refused.errors:
        error["errors"] = [dataclasses.asdict(problem) for problem in refused.errors]
    return error
