"""The field types every request is declared with: the rules of domain.input_rules
as pydantic validators, declared once here and used by every body, query
parameter and header (service/schemas.py, the routes).

- ``SafeText``: one line of text; control characters and unpaired surrogates
  are refused (``MultilineText`` also allows tab, CR and LF).
- ``FreeFormJSON`` / ``AddressMetadata``: a JSON object within depth and size
  limits, each key and string value checked like text; every bad key or value
  is its own field error (``metadata.a.b``).
- ``Moment``: a timestamp from 1900 to 2199 (a naive one is UTC).
- ``RuleValue``: what a segment rule compares with: a scalar or a flat list of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from domain.errors import FieldError
from domain.input_rules import (
    ADDRESS_METADATA,
    FREE_FORM,
    UNSAFE_TEXT,
    JsonLimits,
    bounded_moment,
    json_errors,
    unsafe_text,
)
from domain.segments import value_errors


def _refuse(reason: str | None) -> None:
    if reason is not None:
        raise PydanticCustomError(UNSAFE_TEXT, reason)


def _single_line(value: str) -> str:
    _refuse(unsafe_text(value))
    return value


def _multi_line(value: str) -> str:
    _refuse(unsafe_text(value, multiline=True))
    return value


def _safe_secret(value: SecretStr) -> SecretStr:
    _refuse(unsafe_text(value.get_secret_value()))
    return value


SafeText = Annotated[str, AfterValidator(_single_line)]
MultilineText = Annotated[str, AfterValidator(_multi_line)]
SafeSecret = Annotated[SecretStr, AfterValidator(_safe_secret)]


def _raise_each(title: str, errors: list[FieldError]) -> None:
    """Raise the domain's field errors as pydantic's, each at its own path below the field."""
    if not errors:
        return
    details = [
        InitErrorDetails(
            type=PydanticCustomError(error.code, error.message),
            loc=tuple(error.field.split(".")) if error.field else (),
            input=None,
        )
        for error in errors
    ]
    raise ValidationError.from_exception_data(title, details)


class _WithinLimits:
    """A free-form object's validator: every error, each at its own path."""

    def __init__(self, limits: JsonLimits) -> None:
        self._limits = limits

    def __call__(self, value: dict[str, Any]) -> dict[str, Any]:
        _raise_each("free-form JSON", json_errors(value, self._limits))
        return value


FreeFormJSON = Annotated[dict[str, Any], AfterValidator(_WithinLimits(FREE_FORM))]
AddressMetadata = Annotated[dict[str, Any], AfterValidator(_WithinLimits(ADDRESS_METADATA))]


def _bounded(value: datetime) -> datetime:
    try:
        return bounded_moment(value)
    except ValueError as exc:
        raise PydanticCustomError("date_out_of_range", str(exc)) from None


Moment = Annotated[datetime, AfterValidator(_bounded)]


def _rule_value(value: Any) -> Any:
    _raise_each("rule value", value_errors(value))
    return value


RuleValue = Annotated[Any, AfterValidator(_rule_value)]
