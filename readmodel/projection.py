"""Applying a customer event to the read model: higher version wins.

One Postgres transaction per event: the customer row (only if the event's
version is newer than the stored one), its addresses and preferences, and
its segment memberships. Duplicates and out-of-order deliveries of the
at-least-once outbox therefore change nothing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.model import PREFERENCE_DEFAULTS
from domain.segments import Rule, Segment, memberships
from domain.unique_keys import normalize_email

# A connection of its own or one lent by a pool.
Connection = asyncpg.Connection | PoolConnectionProxy


class MalformedSnapshot(ValueError):
    """The event cannot be projected, whatever the retries: a dead letter."""


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_UPSERT_CUSTOMER = """
INSERT INTO customers AS c (
    id, version, email, email_normalized, first_name, last_name, phone, date_of_birth,
    gender, customer_type, status, email_verified, registration_source, metadata,
    customer_group_id, legacy_id, two_factor_enabled, total_orders, total_spent,
    last_order_at, created_at, updated_at, deleted_at, last_login_at, projected_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17,
        $18, $19, $20, $21, $22, $23, $24, now())
ON CONFLICT (id) DO UPDATE SET
    version = EXCLUDED.version, email = EXCLUDED.email,
    email_normalized = EXCLUDED.email_normalized, first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name, phone = EXCLUDED.phone,
    date_of_birth = EXCLUDED.date_of_birth, gender = EXCLUDED.gender,
    customer_type = EXCLUDED.customer_type, status = EXCLUDED.status,
    email_verified = EXCLUDED.email_verified,
    registration_source = EXCLUDED.registration_source, metadata = EXCLUDED.metadata,
    customer_group_id = EXCLUDED.customer_group_id, legacy_id = EXCLUDED.legacy_id,
    two_factor_enabled = EXCLUDED.two_factor_enabled, total_orders = EXCLUDED.total_orders,
    total_spent = EXCLUDED.total_spent, last_order_at = EXCLUDED.last_order_at,
    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
    deleted_at = EXCLUDED.deleted_at, last_login_at = EXCLUDED.last_login_at,
    projected_at = now()
WHERE c.version < EXCLUDED.version
RETURNING id
"""

_INSERT_ADDRESS = """
INSERT INTO customer_addresses (
    id, customer_id, type, first_name, last_name, company, address_line_1, address_line_2,
    city, state_province, postal_code, country_code, phone, label, is_verified,
    is_default_shipping, is_default_billing, metadata, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
        $18::jsonb, $19, $20)
"""

_PREFERENCE_COLUMNS = tuple(PREFERENCE_DEFAULTS)
_UPSERT_PREFERENCES = f"""
INSERT INTO customer_preferences (customer_id, {", ".join(_PREFERENCE_COLUMNS)},
    custom_preferences, updated_at)
VALUES ($1, {", ".join(f"${n + 2}" for n in range(len(_PREFERENCE_COLUMNS)))},
    ${len(_PREFERENCE_COLUMNS) + 2}::jsonb, ${len(_PREFERENCE_COLUMNS) + 3})
ON CONFLICT (customer_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _PREFERENCE_COLUMNS)},
    custom_preferences = EXCLUDED.custom_preferences, updated_at = EXCLUDED.updated_at
"""  # noqa: S608 - the column names are constants of this module


def _customer_row(s: dict[str, Any]) -> tuple[Any, ...]:
    orders = s.get("orders") or {}
    dob = s.get("date_of_birth")
    return (
        s["id"],
        int(s["version"]),
        s["email"],
        normalize_email(s["email"]),
        s.get("first_name"),
        s.get("last_name"),
        s.get("phone"),
        date.fromisoformat(dob) if dob else None,
        s.get("gender"),
        s["customer_type"],
        s["status"],
        bool(s.get("email_verified")),
        s.get("registration_source"),
        json.dumps(s.get("metadata") or {}),
        s.get("customer_group_id"),
        s.get("legacy_id"),
        bool(s.get("two_factor_enabled")),
        int(orders.get("total_orders", 0)),
        Decimal(str(orders.get("total_spent", "0"))),
        _time(orders.get("last_order_at")),
        datetime.fromisoformat(s["created_at"]),
        datetime.fromisoformat(s["updated_at"]),
        _time(s.get("deleted_at")),
        _time(s.get("last_login_at")),
    )


def _address_row(s: dict[str, Any], a: dict[str, Any]) -> tuple[Any, ...]:
    return (
        a["id"],
        s["id"],
        a["type"],
        a.get("first_name"),
        a.get("last_name"),
        a.get("company"),
        a["address_line_1"],
        a.get("address_line_2"),
        a["city"],
        a.get("state_province"),
        a.get("postal_code"),
        a["country_code"],
        a.get("phone"),
        a.get("label"),
        bool(a.get("is_verified")),
        a["id"] == s.get("default_shipping_address_id"),
        a["id"] == s.get("default_billing_address_id"),
        json.dumps(a.get("metadata") or {}),
        datetime.fromisoformat(a["created_at"]),
        datetime.fromisoformat(a["updated_at"]),
    )


def _preference_row(s: dict[str, Any]) -> tuple[Any, ...]:
    p = s.get("preferences") or {}
    return (
        s["id"],
        *(bool(p.get(c, PREFERENCE_DEFAULTS[c])) for c in _PREFERENCE_COLUMNS),
        json.dumps(p.get("custom_preferences") or {}),
        _time(p.get("updated_at")) or datetime.fromisoformat(s["updated_at"]),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class MembershipChange:
    added: dict[str, int]  # segment id -> score
    removed: list[str]


async def apply_snapshot(
    conn: Connection, snapshot: dict[str, Any], segments: list[Segment]
) -> MembershipChange | None:
    """Project ``snapshot`` inside the caller's transaction; None if it was stale."""
    try:
        customer = _customer_row(snapshot)
        addresses = [_address_row(snapshot, a) for a in snapshot.get("addresses") or []]
        preferences = _preference_row(snapshot)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise MalformedSnapshot(f"{type(exc).__name__}: {exc}") from None
    if await conn.fetchval(_UPSERT_CUSTOMER, *customer) is None:
        return None  # the stored row is as new or newer: a duplicate or a late event
    await conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1", snapshot["id"])
    if addresses:
        await conn.executemany(_INSERT_ADDRESS, addresses)
    await conn.execute(_UPSERT_PREFERENCES, *preferences)
    return await _update_memberships(conn, snapshot, segments)


async def _update_memberships(
    conn: Connection, snapshot: dict[str, Any], segments: list[Segment]
) -> MembershipChange:
    wanted = memberships(segments, snapshot, datetime.now(UTC).date())
    rows = await conn.fetch(
        "SELECT segment_id::text AS id, score FROM segment_members WHERE customer_id = $1",
        snapshot["id"],
    )
    current = {row["id"]: row["score"] for row in rows}
    removed = sorted(current.keys() - wanted.keys())
    if removed:
        await conn.execute(
            "DELETE FROM segment_members WHERE customer_id = $1 AND segment_id = ANY($2::uuid[])",
            snapshot["id"],
            removed,
        )
    changed = {sid: score for sid, score in wanted.items() if current.get(sid) != score}
    if changed:
        await conn.executemany(
            "INSERT INTO segment_members (segment_id, customer_id, score, assigned_at) "
            "VALUES ($1, $2, $3, now()) ON CONFLICT (segment_id, customer_id) "
            "DO UPDATE SET score = EXCLUDED.score",
            [(sid, snapshot["id"], score) for sid, score in changed.items()],
        )
    added = {sid: score for sid, score in wanted.items() if sid not in current}
    return MembershipChange(added=added, removed=removed)


def segment_from_row(row: asyncpg.Record) -> Segment:
    rules = json.loads(row["rules"]) if isinstance(row["rules"], str) else row["rules"]
    return Segment(
        id=str(row["id"]),
        name=row["name"],
        rules=tuple(Rule(**rule) for rule in rules),
        min_score=row["min_score"],
        is_default=row["is_default"],
        active=row["active"],
    )


class SegmentCache:
    """The active segments, re-read at most every ``ttl`` seconds (or when told)
    instead of once per event; a change made on another replica shows within
    ``ttl``, and the background evaluation of that change covers the gap."""

    def __init__(self, ttl: float = 2.0) -> None:
        self._ttl = ttl
        self._segments: list[Segment] = []
        self._read_at = float("-inf")

    def invalidate(self) -> None:
        self._read_at = float("-inf")

    async def get(self, conn: Connection) -> list[Segment]:
        now = time.monotonic()
        if now - self._read_at > self._ttl:
            self._segments = await active_segments(conn)
            self._read_at = now
        return self._segments


async def active_segments(conn: Connection) -> list[Segment]:
    rows = await conn.fetch(
        "SELECT id, name, rules, min_score, is_default, active FROM segments WHERE active"
    )
    return [segment_from_row(row) for row in rows]
