"""Rule-based segments (the seed's segmentation engine), pure.

A segment has rules ``{field, operator, value, weight}``. A customer scores
the weights of the rules it matches and belongs if the score reaches the
segment's ``min_score`` (by default: every rule must match). A segment
without rules holds every live customer; a default segment holds every live
customer whatever its rules (it is assigned on creation).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import FieldError
from domain.input_rules import UNSAFE_TEXT, bounded_moment, unsafe_text
from domain.model import PREFERENCE_DEFAULTS

OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq", "in", "contains")
MAX_LIST_ITEMS = 1000
MAX_TEXT = 255
# Numbers compared with counts and amounts: anything beyond is a typo or an attack.
MAX_MAGNITUDE = Decimal(10) ** 15

# Field -> kind of value. "preferences.<flag>" are booleans too.
FIELDS: dict[str, str] = {
    "status": "text",
    "customer_type": "text",
    "customer_group_id": "text",
    "gender": "text",
    "registration_source": "text",
    "email_verified": "bool",
    "two_factor_enabled": "bool",
    "age": "number",
    "created_at": "time",
    "last_login_at": "time",
    "address_count": "number",
    "address_countries": "list",
    "total_orders": "number",
    "total_spent": "number",
    "last_order_at": "time",
    **{f"preferences.{flag}": "bool" for flag in PREFERENCE_DEFAULTS},
}


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    field: str
    operator: str
    value: Any
    weight: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    rules: tuple[Rule, ...]
    min_score: int | None = None
    is_default: bool = False
    active: bool = True

    @property
    def threshold(self) -> int:
        return self.min_score if self.min_score is not None else sum(r.weight for r in self.rules)


def value_errors(value: Any) -> list[FieldError]:
    """A rule's value is a plain scalar or a flat list of them, each within bounds
    (paths relative to the value: "" for itself, "3" for its fourth item)."""
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
        return [FieldError("", f"has more than {MAX_LIST_ITEMS} items", "too_long")]
    errors: list[FieldError] = []
    for n, item in enumerate(items):
        at = str(n) if isinstance(value, list) else ""
        if isinstance(item, str):
            if (reason := unsafe_text(item)) is not None:
                errors.append(FieldError(at, reason, UNSAFE_TEXT))
            elif len(item) > MAX_TEXT:
                errors.append(FieldError(at, f"is longer than {MAX_TEXT} characters", "too_long"))
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append(FieldError(at, "must be a finite number", "not_finite"))
        elif not isinstance(item, bool | int | float | type(None)):
            errors.append(FieldError(at, "must be a text, number, boolean or null", "invalid"))
    return errors


def rule_errors(rules: list[Rule], min_score: int | None) -> list[FieldError]:
    """Every problem of a rule set, at once. A rule set with none of them can be
    stored, listed and evaluated (evaluation never raises on it)."""
    errors: list[FieldError] = []
    for n, rule in enumerate(rules):
        where = f"rules.{n}"
        if shape := value_errors(rule.value):
            errors.extend(
                dataclasses.replace(e, field=".".join(p for p in (where, "value", e.field) if p))
                for e in shape
            )
            continue
        if not isinstance(rule.weight, int) or isinstance(rule.weight, bool):
            errors.append(FieldError(f"{where}.weight", "must be a whole number", "invalid"))
            continue
        if rule.field not in FIELDS:
            errors.append(FieldError(f"{where}.field", "unknown field", "unknown"))
            continue
        if rule.operator not in OPERATORS:
            errors.append(FieldError(f"{where}.operator", "unknown operator", "unknown"))
            continue
        if rule.weight < 1:
            errors.append(FieldError(f"{where}.weight", "must be at least 1", "invalid"))
        kind = FIELDS[rule.field]
        if rule.operator in ("gt", "gte", "lt", "lte") and kind not in ("number", "time"):
            errors.append(
                FieldError(
                    f"{where}.operator", f"{rule.operator} needs a number or time field", "invalid"
                )
            )
        elif rule.operator == "in" and not isinstance(rule.value, list):
            errors.append(FieldError(f"{where}.value", "must be a list for 'in'", "invalid"))
        elif rule.operator == "in":
            try:
                for item in rule.value:
                    _coerce(kind, item)
            except (ValueError, TypeError, InvalidOperation):
                errors.append(
                    FieldError(f"{where}.value", f"every item must be a {kind} value", "invalid")
                )
        elif rule.operator == "contains" and kind not in ("list", "text"):
            errors.append(
                FieldError(f"{where}.operator", "contains needs a list or text field", "invalid")
            )
        elif rule.operator != "in":
            try:
                _coerce(kind, rule.value)
            except (ValueError, TypeError, InvalidOperation):
                errors.append(FieldError(f"{where}.value", f"must be a {kind} value", "invalid"))
    weights = [r.weight for r in rules if isinstance(r.weight, int)]
    if min_score is not None and min_score > sum(weights):
        errors.append(FieldError("min_score", "is more than the rules' total weight", "invalid"))
    return errors


def _coerce(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
            raise ValueError("out of range")
        return number
    if kind == "time":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("needs a time zone")
        return bounded_moment(moment)
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    return str(value) if kind == "text" else value


def facts(snapshot: dict[str, Any], today: date) -> dict[str, Any]:
    """What rules can be about, from an event snapshot."""
    born = snapshot.get("date_of_birth")
    age = None
    if born:
        birth = date.fromisoformat(born)
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    preferences = snapshot.get("preferences") or {}
    addresses = snapshot.get("addresses") or []
    orders = snapshot.get("orders") or {}
    known: dict[str, Any] = {
        "status": snapshot.get("status"),
        "customer_type": snapshot.get("customer_type"),
        "customer_group_id": snapshot.get("customer_group_id"),
        "gender": snapshot.get("gender"),
        "registration_source": snapshot.get("registration_source"),
        "email_verified": bool(snapshot.get("email_verified")),
        "two_factor_enabled": bool(snapshot.get("two_factor_enabled")),
        "age": age,
        "created_at": snapshot.get("created_at"),
        "last_login_at": snapshot.get("last_login_at"),
        "address_count": len(addresses),
        "address_countries": sorted({a["country_code"] for a in addresses}),
        "total_orders": orders.get("total_orders", 0),
        "total_spent": orders.get("total_spent", "0"),
        "last_order_at": orders.get("last_order_at"),
    }
    for flag in PREFERENCE_DEFAULTS:
        known[f"preferences.{flag}"] = bool(preferences.get(flag, PREFERENCE_DEFAULTS[flag]))
    return known


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
}


def matches(rule: Rule, known: dict[str, Any]) -> bool:
    """Whether the customer matches; a rule that cannot be applied matches nothing
    (one bad rule must never stop the projection)."""
    try:
        return _matches(rule, known)
    except (TypeError, ValueError, ArithmeticError, KeyError):
        return False


def _matches(rule: Rule, known: dict[str, Any]) -> bool:
    kind = FIELDS[rule.field]
    actual = _coerce(kind, known.get(rule.field))
    if rule.operator == "in":
        return actual in [_coerce(kind, v) for v in rule.value]
    if rule.operator == "contains":
        if kind == "list":
            return rule.value in (actual or [])
        return actual is not None and str(rule.value).lower() in actual.lower()
    expected = _coerce(kind, rule.value)
    if actual is None or expected is None:
        # Nothing known compares equal only to nothing.
        return rule.operator == ("eq" if actual is expected else "neq")
    return _COMPARE[rule.operator](actual, expected)


def score(segment: Segment, known: dict[str, Any]) -> int | None:
    """The customer's score in ``segment`` if it belongs, else None."""
    total = sum(rule.weight for rule in segment.rules if matches(rule, known))
    if segment.is_default or total >= segment.threshold:
        return total
    return None


def memberships(segments: list[Segment], snapshot: dict[str, Any], today: date) -> dict[str, int]:
    """Segment id -> score, for the active segments a live customer belongs to."""
    if snapshot.get("deleted_at"):
        return {}
    known = facts(snapshot, today)
    found = {}
    for segment in segments:
        if segment.active and (points := score(segment, known)) is not None:
            found[segment.id] = points
    return found
