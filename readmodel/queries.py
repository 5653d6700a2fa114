"""List and search over the read model, with keyset (cursor) pagination.

A cursor is the sort key and id of the last row shown, so a page starts
strictly after it: rows inserted or removed elsewhere never shift a page,
and no row is shown twice or skipped because of them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from domain.input_rules import bounded_moment, unsafe_text
from domain.unique_keys import normalize_email
from readmodel.projection import Connection

Sort = Literal["created_at", "name"]
MAX_LIMIT = 100

COLUMNS = """
    c.id::text AS id, c.version, c.email, c.first_name, c.last_name, c.phone, c.status,
    c.customer_type, c.customer_group_id, c.legacy_id, c.email_verified,
    c.registration_source, c.total_orders, c.total_spent::text AS total_spent,
    c.last_order_at, c.created_at, c.updated_at, c.deleted_at, c.name_sort
"""


# Longer than any name_sort (two names of 100 characters) or timestamp.
MAX_CURSOR_KEY = 300
MAX_CURSOR = 600


class BadCursor(ValueError):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerFilter:
    status: str | None = None
    customer_type: str | None = None
    group: str | None = None
    segment: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    email: str | None = None
    q: str | None = None
    include_deleted: bool = False


def encode_cursor(sort: str, key: Any, row_id: str) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    """The sort key and row id a cursor holds; BadCursor for anything that is not
    exactly what ``encode_cursor`` made for this sort order (whatever it holds)."""
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("the cursor is not one this service made")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise BadCursor("the cursor is not one this service made") from None
    if not (
        isinstance(decoded, list)
        and len(decoded) == 3
        and all(isinstance(part, str) for part in decoded)
    ):
        raise BadCursor("the cursor is not one this service made")
    kind, value, row_id = decoded
    if kind != sort:
        raise BadCursor("the cursor belongs to another sort order")
    if unsafe_text(value) is not None or len(value) > MAX_CURSOR_KEY:
        raise BadCursor("the cursor's sort key is not valid")
    try:
        uuid.UUID(row_id)
        key: Any = bounded_moment(datetime.fromisoformat(value)) if sort == "created_at" else value
    except ValueError:
        raise BadCursor("the cursor's position is not valid") from None
    return key, row_id


# Each filter of CustomerFilter that is set adds its condition ({} is its value).
_CONDITIONS = (
    ("status", "c.status = {}"),
    ("customer_type", "c.customer_type = {}"),
    ("group", "c.customer_group_id = {}"),
    (
        "segment",
        "EXISTS (SELECT 1 FROM segment_members m WHERE m.customer_id = c.id AND m.segment_id = {})",
    ),
    ("created_from", "c.created_at >= {}"),
    ("created_to", "c.created_at < {}"),
    ("email", "c.email_normalized = {}"),
    ("q", "c.name_search @@ plainto_tsquery('simple', immutable_unaccent({}))"),
)


async def list_customers(
    conn: Connection, where: CustomerFilter, sort: Sort, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if not where.include_deleted:
        clauses.append("c.deleted_at IS NULL")
    for name, condition in _CONDITIONS:
        if value := getattr(where, name):
            value = normalize_email(value) if name == "email" else value
            clauses.append(condition.format(arg(value)))
    if cursor is not None:
        key, row_id = decode_cursor(cursor, sort)
        if sort == "created_at":
            clauses.append(f"(c.created_at, c.id) < ({arg(key)}, {arg(uuid.UUID(row_id))})")
        else:
            clauses.append(f"(c.name_sort, c.id) > ({arg(key)}, {arg(uuid.UUID(row_id))})")
    order = "c.created_at DESC, c.id DESC" if sort == "created_at" else "c.name_sort, c.id"
    sql = (
        f"SELECT {COLUMNS} FROM customers c "  # noqa: S608 - clauses are ours, values are $n
        + (f"WHERE {' AND '.join(clauses)} " if clauses else "")
        + f"ORDER BY {order} LIMIT {arg(limit + 1)}"
    )
    rows = [dict(row) for row in await conn.fetch(sql, *args)]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key = last["created_at"] if sort == "created_at" else last["name_sort"]
        next_cursor = encode_cursor(sort, key, last["id"])
    for row in rows:
        row.pop("name_sort")
    return rows, next_cursor


async def segment_members(
    conn: Connection, segment_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    args: list[Any] = [segment_id, limit + 1]
    after = ""
    if cursor is not None:
        _, row_id = decode_cursor(cursor, "member")
        args.append(uuid.UUID(row_id))
        after = "AND m.customer_id > $3"
    rows = await conn.fetch(
        f"SELECT {COLUMNS}, m.score, m.assigned_at FROM segment_members m "  # noqa: S608
        f"JOIN customers c ON c.id = m.customer_id WHERE m.segment_id = $1 {after} "
        "ORDER BY m.customer_id LIMIT $2",
        *args,
    )
    found = [dict(row) for row in rows]
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_cursor("member", "", found[-1]["id"])
    for row in found:
        row.pop("name_sort")
    return found, next_cursor


async def ids_with_phone(
    conn: Connection, phone: str, include_deleted: bool, limit: int = MAX_LIMIT
) -> list[str]:
    """The customers the read model knows with this phone (E.164), oldest first."""
    live = "" if include_deleted else "AND deleted_at IS NULL "
    rows = await conn.fetch(
        f"SELECT id::text AS id FROM customers WHERE phone = $1 {live}"  # noqa: S608 - ours
        "ORDER BY created_at, id LIMIT $2",
        phone,
        limit,
    )
    return [row["id"] for row in rows]


async def memberships(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    """The segments a customer belongs to, with its score and since when, by name."""
    rows = await conn.fetch(
        "SELECT s.id::text AS id, s.name, m.score, m.assigned_at "
        "FROM segment_members m JOIN segments s ON s.id = m.segment_id "
        "WHERE m.customer_id = $1::uuid ORDER BY s.name, s.id",
        customer_id,
    )
    return [dict(row) for row in rows]
