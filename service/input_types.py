"""The field types every request is declared with: the rules of domain.input_rules
as pydantic validators, declared once here and used by every body, query
parameter and header (service/schemas.py, the routes).

- ``SafeText``: one line of text; control characters and unpaired surrogates
  are refused (``MultilineText`` also allows tab, CR and LF).
- ``FreeFormJSON`` / ``AddressMetadata``: a JSON object within depth and size
  limits, each key and string value checked like text; every bad key or value
  is its own field error (``metadata.a.b``).
- ``Moment``: a timestamp from 1900 to 2199 (a naive one is UTC).
- ``RuleValue``: what a segment rule compares with: a scalar or a list of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from domain.input_rules import (
    ADDRESS_METADATA,
    FREE_FORM,
    UNSAFE_TEXT,
    JsonLimits,
    bounded_moment,
    json_errors,
    unsafe_text,
)


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


class _WithinLimits:
    """A free-form object's validator: every error, each at its own path."""

    def __init__(self, limits: JsonLimits) -> None:
        self._limits = limits

    def __call__(self, value: dict[str, Any]) -> dict[str, Any]:
        errors = json_errors(value, self._limits)
        if not errors:
            return value
        details = [
            InitErrorDetails(
                type=PydanticCustomError(error.code, error.message),
                loc=tuple(error.field.split(".")) if error.field else (),
                input=None,
            )
            for error in errors
        ]
        raise ValidationError.from_exception_data("free-form JSON", details)


FreeFormJSON = Annotated[dict[str, Any], AfterValidator(_WithinLimits(FREE_FORM))]
AddressMetadata = Annotated[dict[str, Any], AfterValidator(_WithinLimits(ADDRESS_METADATA))]


def _bounded(value: datetime) -> datetime:
    try:
        return bounded_moment(value)
    except ValueError as exc:
        raise PydanticCustomError("date_out_of_range", str(exc)) from None


Moment = Annotated[datetime, AfterValidator(_bounded)]

RuleText = Annotated[SafeText, Field(max_length=255)]
RuleScalar = bool | int | Annotated[float, Field(allow_inf_nan=False)] | RuleText | None
RuleValue = RuleScalar | Annotated[list[RuleScalar], Field(max_length=1000)]
