"""What any input must be before it is kept: plain text, bounded JSON, sane moments.

Pure rules, shared by the HTTP layer (which answers with field errors) and the
domain (segment rules). Why they exist: Postgres ``text`` and ``jsonb`` cannot
hold NUL (``\\x00``) or unpaired surrogates, so one such character accepted
here is an event the projector can never apply; deep or huge free-form JSON
is carried by every later event of the customer, twice (``changes`` and
``snapshot``); and moments outside what both Python and Postgres represent
turn into overflow errors wherever they are compared or converted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

from domain.errors import FieldError

# C0 and C1 control characters, DEL, and unpaired surrogates (never valid UTF-8).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, line feed and carriage return are allowed (multi-line text).
_UNSAFE_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

UNSAFE_TEXT = "unsafe_text"


def unsafe_text(text: str, *, multiline: bool = False) -> str | None:
    """Why ``text`` cannot be kept, or None when it can."""
    found = (_UNSAFE_MULTILINE if multiline else _UNSAFE).search(text)
    if found is None:
        return None
    code_point = ord(found.group())
    if 0xD800 <= code_point <= 0xDFFF:
        return "contains an unpaired surrogate"
    return f"contains a control character (U+{code_point:04X})"


def printable(text: Any, limit: int = 100) -> str:
    """``text`` for an error message: unsafe characters escaped, cut at ``limit``."""
    shown = str(text)[:limit]
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)


# -- free-form JSON (metadata, custom preferences) ---------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class JsonLimits:
    """Bounds of one free-form JSON object.

    ``max_depth`` counts the object itself as level 1: ``{"a": {"b": 1}}`` has depth 2.
    ``max_bytes`` is the size of its compact UTF-8 JSON.
    """

    max_depth: int
    max_bytes: int
    max_key_length: int = 100


# Customer metadata and custom preferences travel in every event of the customer.
FREE_FORM = JsonLimits(max_depth=8, max_bytes=8 * 1024)
# Address metadata: up to CUSTOMER_MAX_ADDRESSES of them travel in every snapshot.
ADDRESS_METADATA = JsonLimits(max_depth=4, max_bytes=1024)
JSON_SCALARS = (str, int, float, bool, type(None))
EXACT = 2**53


MAX_REPORTED = 50  # errors per object: enough to fix it, not a reply as big as the input


def json_errors(value: Any, limits: JsonLimits) -> list[FieldError]:
    """Every reason the free-form ``value`` cannot be kept, paths relative to it.

    Walks without recursion, so no nesting can exhaust the stack, and does not
    descend below ``max_depth``.
    """
    errors: list[FieldError] = []
    stack: list[tuple[Any, tuple[str, ...], int]] = [(value, (), 1)]
    while stack and len(errors) < MAX_REPORTED:
        item, where, level = stack.pop()
        field = ".".join(where)
        if isinstance(item, dict | list):
            if level > limits.max_depth:
                message = f"nests deeper than {limits.max_depth} levels"
                errors.append(FieldError(field, message, "too_deep"))
                continue
            if isinstance(item, dict):
                for key, child in reversed(item.items()):
                    errors.extend(_key_errors(key, (*where, printable(key)), limits))
                    stack.append((child, (*where, printable(key)), level + 1))
            else:
                stack.extend(
                    (child, (*where, str(n)), level + 1)
                    for n, child in reversed(list(enumerate(item)))
                )
        elif isinstance(item, str):
            if (reason := unsafe_text(item, multiline=True)) is not None:
                errors.append(FieldError(field, reason, UNSAFE_TEXT))
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append(FieldError(field, "must be a finite number", "not_finite"))
        elif isinstance(item, int | float) and not isinstance(item, bool) and abs(item) > EXACT:
            # Events are re-encoded by daprd through float64: beyond 2**53 a
            # number would change on the way (and with it the event's signature).
            message = f"must be between -{EXACT} and {EXACT}"
            errors.append(FieldError(field, message, "out_of_range"))
        elif not isinstance(item, JSON_SCALARS):
            errors.append(FieldError(field, "is not a JSON value", "not_json"))
    if not errors:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > limits.max_bytes:
            message = f"is {size} bytes as JSON, more than {limits.max_bytes}"
            errors.append(FieldError("", message, "too_large"))
    return errors[:MAX_REPORTED]


def _key_errors(key: Any, where: tuple[str, ...], limits: JsonLimits) -> list[FieldError]:
    field = ".".join(where)
    if not isinstance(key, str):
        return [FieldError(field, "keys must be strings", "not_json")]
    if (reason := unsafe_text(key)) is not None:
        return [FieldError(field, f"key {reason}", UNSAFE_TEXT)]
    if not key or len(key) > limits.max_key_length:
        return [
            FieldError(field, f"keys must have 1 to {limits.max_key_length} characters", "bad_key")
        ]
    return []


# -- moments ------------------------------------------------------------------------------

# What any stored or compared moment may be: what both Python and Postgres
# represent, with room to convert between time zones, and nothing absurd.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def bounded_moment(moment: datetime) -> datetime:
    """``moment`` as an aware datetime (naive means UTC), or ValueError if out of range."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(_out_of_range()) from None
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(_out_of_range())
    return moment


def day_in_utc(moment: date | datetime) -> date:
    """The UTC day of a moment (a date is its own day), or ValueError if it overflows."""
    if not isinstance(moment, datetime):
        return moment
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(UTC).date()
    except OverflowError:
        raise ValueError(_out_of_range()) from None


def _out_of_range() -> str:
    return f"must be from {EARLIEST.year} to {LATEST.year - 1}"
