"""Applying a customer event to the read model: higher version wins.

One Postgres transaction per event: the customer row (only if the event's
version is newer than the stored one), its addresses and preferences, and
its segment memberships. Duplicates and out-of-order deliveries of the
at-least-once outbox therefore change nothing.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain import fields
from domain.model import (
    ADDRESS_DOCUMENT,
    PREFERENCE_DEFAULTS,
    PROFILE_DOCUMENT,
    Address,
    Customer,
)
from domain.segments import Rule, Segment, memberships
from domain.unique_keys import normalize_email

# A connection of its own or one lent by a pool.
Connection = asyncpg.Connection | PoolConnectionProxy


class MalformedSnapshot(ValueError):
    """The event cannot be projected, whatever the retries: a dead letter."""


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# What the read model keeps of a customer: the profile as documents hold it (but
# the default address ids: each address row says which defaults it holds), and
# what it derives for search and segments. Each table's columns are derived from
# the domain's declarations; tests/unit/test_field_sets.py checks the migrations.
_DEFAULT_IDS = ("default_shipping_address_id", "default_billing_address_id")
_PROFILE = tuple(name for name in PROFILE_DOCUMENT if name not in _DEFAULT_IDS)
CUSTOMER_COLUMNS = (
    *_PROFILE,
    "email_normalized",
    "two_factor_enabled",
    "total_orders",
    "total_spent",
    "last_order_at",
)
ADDRESS_COLUMNS = (*ADDRESS_DOCUMENT, "customer_id", "is_default_shipping", "is_default_billing")
PREFERENCE_COLUMNS = ("customer_id", *PREFERENCE_DEFAULTS, "custom_preferences", "updated_at")
_JSON_COLUMNS = frozenset({"metadata", "custom_preferences"})


def _insert(table: str, columns: tuple[str, ...], *constants: tuple[str, str]) -> str:
    names = [*columns, *(name for name, _ in constants)]
    values = [f"${n}{'::jsonb' if c in _JSON_COLUMNS else ''}" for n, c in enumerate(columns, 1)]
    values += [value for _, value in constants]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})"  # noqa: S608 - our column names


def _replacing(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)


_UPSERT_CUSTOMER = (
    _insert("customers AS c", CUSTOMER_COLUMNS, ("projected_at", "now()"))
    + f" ON CONFLICT (id) DO UPDATE SET {_replacing(CUSTOMER_COLUMNS[1:])}, projected_at = now()"
    + " WHERE c.version < EXCLUDED.version"
    # xmax is 0 on a row this statement inserted (not one it updated).
    + " RETURNING (c.xmax = 0) AS inserted"
)
_INSERT_ADDRESS = _insert("customer_addresses", ADDRESS_COLUMNS)
_UPSERT_PREFERENCES = (
    _insert("customer_preferences", PREFERENCE_COLUMNS)
    + f" ON CONFLICT (customer_id) DO UPDATE SET {_replacing(PREFERENCE_COLUMNS[1:])}"
)


def _sql_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _customer_row(s: dict[str, Any]) -> tuple[Any, ...]:
    profile = fields.load(Customer, s, _PROFILE)
    orders = s.get("orders") or {}
    derived = {
        "email_normalized": normalize_email(s["email"]),
        "two_factor_enabled": bool(s.get("two_factor_enabled")),
        "total_orders": int(orders.get("total_orders", 0)),
        "total_spent": Decimal(str(orders.get("total_spent", "0"))),
        "last_order_at": _time(orders.get("last_order_at")),
    }
    row = {**profile, **derived}
    return tuple(_sql_value(row[column]) for column in CUSTOMER_COLUMNS)


def _address_row(s: dict[str, Any], a: dict[str, Any]) -> tuple[Any, ...]:
    row = {
        **fields.load(Address, a, ADDRESS_DOCUMENT),
        "customer_id": s["id"],
        "is_default_shipping": a["id"] == s.get("default_shipping_address_id"),
        "is_default_billing": a["id"] == s.get("default_billing_address_id"),
    }
    return tuple(_sql_value(row[column]) for column in ADDRESS_COLUMNS)


def _preference_row(s: dict[str, Any]) -> tuple[Any, ...]:
    p = s.get("preferences") or {}
    return (
        s["id"],
        *(bool(p.get(flag, on)) for flag, on in PREFERENCE_DEFAULTS.items()),
        json.dumps(p.get("custom_preferences") or {}),
        _time(p.get("updated_at")) or datetime.fromisoformat(s["updated_at"]),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class MembershipChange:
    added: dict[str, int]  # segment id -> score
    removed: list[str]


async def apply_snapshot(
    conn: Connection, snapshot: dict[str, Any], segments: list[Segment] | None
) -> MembershipChange | None:
    """Project ``snapshot`` inside the caller's transaction; None if it was stale.
    ``segments`` None: segments are switched off, memberships stay as they are.

    A tombstone (``erased_at``) replaces the customer's rows; once it is there,
    nothing of the customer is projected again. Both take the customer's lock
    first, so a snapshot and the tombstone projected at once cannot both win."""
    try:
        customer_id = str(uuid.UUID(str(snapshot["id"])))
        version = int(snapshot["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedSnapshot(f"{type(exc).__name__}: {exc}") from None
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", customer_id)
    if snapshot.get("erased_at"):
        return await _erase(conn, customer_id, version, snapshot["erased_at"])
    if await conn.fetchval(
        "SELECT true FROM erased_customers WHERE id = $1", uuid.UUID(customer_id)
    ):
        return None  # erased: every snapshot of it is older than its tombstone
    try:
        customer = _customer_row(snapshot)
        addresses = [_address_row(snapshot, a) for a in snapshot.get("addresses") or []]
        preferences = _preference_row(snapshot)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise MalformedSnapshot(f"{type(exc).__name__}: {exc}") from None
    inserted = await conn.fetchval(_UPSERT_CUSTOMER, *customer)
    if inserted is None:
        return None  # the stored row is as new or newer: a duplicate or a late event
    # A customer row just inserted has no addresses or memberships yet (their
    # rows reference it): nothing to delete or read.
    if not inserted:
        await conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1", snapshot["id"])
    if addresses:
        await conn.executemany(_INSERT_ADDRESS, addresses)
    await conn.execute(_UPSERT_PREFERENCES, *preferences)
    if segments is None:
        return MembershipChange(added={}, removed=[])
    return await _update_memberships(conn, snapshot, segments, fresh=inserted)


async def _erase(
    conn: Connection, customer_id: str, version: int, erased_at: str
) -> MembershipChange | None:
    try:
        moment = datetime.fromisoformat(erased_at)
    except (TypeError, ValueError) as exc:
        raise MalformedSnapshot(f"{type(exc).__name__}: {exc}") from None
    key = uuid.UUID(customer_id)
    written = await conn.fetchval(
        "INSERT INTO erased_customers AS e (id, version, erased_at, projected_at) "
        "VALUES ($1, $2, $3, now()) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, "
        "erased_at = EXCLUDED.erased_at, projected_at = now() WHERE e.version < EXCLUDED.version "
        "RETURNING true",
        key,
        version,
        moment,
    )
    if not written:
        return None
    # Its addresses, preferences and memberships go with it (ON DELETE CASCADE).
    await conn.execute("DELETE FROM customers WHERE id = $1", key)
    return MembershipChange(added={}, removed=[])


class Advance(enum.Enum):
    """What an event without a snapshot did to the customer's row."""

    MOVED = "moved"  # the row held the version just before: it holds this one now
    STALE = "stale"  # the row holds this version or a later one (or the tombstone)
    EARLY = "early"  # an earlier change (with its snapshot) has not been projected yet


async def advance_version(
    conn: Connection, customer_id: str, version: int, updated_at: datetime
) -> Advance:
    """Record ``version`` of an event that changed nothing of the snapshot, only
    if the row holds the version just before it: never a regression, never a
    skipped snapshot. Further behind (or no row yet), it is ``EARLY``: the event
    is to be applied again once its predecessor arrived."""
    row = await conn.fetchrow(
        "WITH moved AS (UPDATE customers SET version = $2, updated_at = $3, projected_at = now() "
        "WHERE id = $1::uuid AND version = $2 - 1 RETURNING true) "
        "SELECT (SELECT true FROM moved) AS moved, "
        "(SELECT version FROM customers WHERE id = $1::uuid) AS held, "
        "(SELECT true FROM erased_customers WHERE id = $1::uuid) AS erased",
        customer_id,
        version,
        updated_at,
    )
    assert row is not None  # a SELECT without FROM: one row
    if row["moved"]:
        return Advance.MOVED
    if row["erased"] or (row["held"] is not None and row["held"] >= version):
        return Advance.STALE
    return Advance.EARLY


# A customer's rows as they compare, but for what moves with every version.
_CUSTOMER_ROWS = (
    "SELECT (SELECT to_jsonb(c) - 'version' - 'updated_at' - 'projected_at' "
    "FROM customers c WHERE c.id = $1::uuid) AS customer, "
    "(SELECT jsonb_agg(to_jsonb(a) ORDER BY a.id) FROM customer_addresses a "
    "WHERE a.customer_id = $1::uuid) AS addresses, "
    "(SELECT to_jsonb(p) FROM customer_preferences p WHERE p.customer_id = $1::uuid) "
    "AS preferences"
)


class _Different(Exception):
    """The snapshot changes more than the version: rolled back."""


async def advance_if_unchanged(
    conn: Connection, snapshot: dict[str, Any], segments: list[Segment]
) -> bool:
    """Bring the customer's row to ``snapshot`` if that changes nothing but its
    version and ``updated_at`` (the events it missed carried no snapshot, or one
    equal to the row): True if done; otherwise nothing changes (False)."""
    if snapshot.get("erased_at"):
        return False
    try:
        async with conn.transaction():
            before = await conn.fetchrow(_CUSTOMER_ROWS, str(snapshot["id"]))
            if before is None or before["customer"] is None:
                return False
            change = await apply_snapshot(conn, snapshot, segments)
            after = await conn.fetchrow(_CUSTOMER_ROWS, str(snapshot["id"]))
            if change is None or change.added or change.removed or after is None:
                raise _Different
            if tuple(before) != tuple(after):
                raise _Different
    except _Different:
        return False
    return True


async def _update_memberships(
    conn: Connection, snapshot: dict[str, Any], segments: list[Segment], fresh: bool = False
) -> MembershipChange:
    wanted = memberships(segments, snapshot, datetime.now(UTC).date())
    rows = (
        []
        if fresh
        else await conn.fetch(
            "SELECT segment_id::text AS id, score FROM segment_members WHERE customer_id = $1",
            snapshot["id"],
        )
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
    """The active segments, re-read only when a segment changed.

    Inside each projection's transaction one cheap query asks when segments last
    changed (and how many there are, for deletes); the rules are read again only
    then, so an event is never projected with rules older than its transaction.
    """

    def __init__(self) -> None:
        self._segments: list[Segment] = []
        self._seen: tuple[object, ...] | None = None

    async def get(self, conn: Connection) -> list[Segment]:
        row = await conn.fetchrow("SELECT max(updated_at) AS changed, count(*) AS n FROM segments")
        seen = (row["changed"], row["n"]) if row else None
        if seen != self._seen:
            self._segments = await active_segments(conn)
            self._seen = seen
        return self._segments


async def active_segments(conn: Connection) -> list[Segment]:
    rows = await conn.fetch(
        "SELECT id, name, rules, min_score, is_default, active FROM segments WHERE active"
    )
    return [segment_from_row(row) for row in rows]
