"""The look-up parameters of ``GET /api/v1/customers``: ``ids`` or ``phone``.

Every error of them is answered at once (422, each with its field), and a
look-up is never mixed with the list's filters, sort or cursor: a filter that
would be ignored answers another question than the one asked.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence

import phonenumbers

from domain.errors import FieldError
from service.problems import validation_failed

MAX_IDS = 100
LOOKUP_PARAMETERS = frozenset({"ids", "phone", "include_deleted"})
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclasses.dataclass(frozen=True, slots=True)
class Lookup:
    ids: list[str] | None = None
    phone: str | None = None


def customer_ids(text: str) -> tuple[list[str], list[FieldError]]:
    """The distinct ids of ``"a,b,..."`` in their order (canonical form), and the
    error of each one that is not a customer id."""
    parts = [part.strip() for part in text.split(",")]
    errors: list[FieldError] = []
    if len(parts) > MAX_IDS:
        errors.append(FieldError("ids", f"at most {MAX_IDS} ids, got {len(parts)}", "too_many"))
        return [], errors
    found: list[str] = []
    for index, part in enumerate(parts):
        try:
            canonical = str(uuid.UUID(part))
        except ValueError:
            errors.append(FieldError(f"ids[{index}]", "is not a customer id (a UUID)", "uuid"))
            continue
        if canonical not in found:
            found.append(canonical)
    return found, errors


def phone_error(text: str) -> FieldError | None:
    """Why ``text`` is not a phone number in E.164 form, or None."""
    if not _E164.fullmatch(text):
        message = "must be E.164: + and up to 15 digits (send + as %2B in a query string)"
        return FieldError("phone", message, "e164")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return FieldError("phone", "is not a valid phone number", "phone")
    if not phonenumbers.is_valid_number(number):
        return FieldError("phone", "is not a valid phone number", "phone")
    return None


def parse_lookup(
    ids: str | None, phone: str | None, others: list[str], repeated: Sequence[str] = ()
) -> Lookup:
    """The look-up asked for; a 422 problem listing every error otherwise.

    ``repeated``: the look-up parameters sent more than once (``?ids=a&ids=b``), which
    would otherwise silently mean the last one."""
    errors = [
        FieldError(name, "cannot be combined with ids or phone", "not_combinable")
        for name in others
    ]
    errors += [
        FieldError(name, "send it once (ids: comma-separated)", "repeated")
        for name in sorted(repeated)
    ]
    if ids is not None and phone is not None:
        errors.append(FieldError("phone", "send either ids or phone", "not_combinable"))
    found: list[str] = []
    if ids is not None:
        found, id_errors = customer_ids(ids)
        errors.extend(id_errors)
    if phone is not None and (error := phone_error(phone)) is not None:
        errors.append(error)
    if errors:
        raise validation_failed(errors, "query")
    return Lookup(ids=found) if ids is not None else Lookup(phone=phone)
