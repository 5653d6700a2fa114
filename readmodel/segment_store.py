"""Segments as the read model keeps them: their rows and their members."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from readmodel.queries import segment_members

_COLUMNS = (
    "id::text AS id, name, description, rules, min_score, is_default, active, version, "
    "created_at, updated_at, evaluated_at"
)
_INSERT = (
    "INSERT INTO segments (id, name, description, rules, min_score, is_default, active, "  # noqa: S608 - constant columns
    "created_at, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $8) "
    f"RETURNING {_COLUMNS}"
)
_UPDATE = (
    "UPDATE segments SET name = $2, description = $3, rules = $4::jsonb, min_score = $5, "  # noqa: S608 - constant columns
    "is_default = $6, active = $7, version = version + 1, updated_at = now() "
    f"WHERE id = $1 RETURNING {_COLUMNS}"
)
# How long a delete waits for another replica's evaluation batch (one batch is far less).
DELETE_LOCK_TIMEOUT = "3s"


class SegmentExists(Exception):
    """Another segment has the name."""


class SegmentBusy(Exception):
    """A long change elsewhere holds the segment's row."""


@dataclasses.dataclass(frozen=True, slots=True)
class SegmentFields:
    """What a client sets about a segment."""

    name: str
    description: str | None
    rules: list[dict[str, Any]]
    min_score: int | None
    is_default: bool
    active: bool

    @classmethod
    def of(cls, segment: dict[str, Any]) -> SegmentFields:
        """The fields a client sets, from a segment (its other fields are left out)."""
        return cls(**{field.name: segment[field.name] for field in dataclasses.fields(cls)})

    def values(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.description,
            json.dumps(self.rules),
            self.min_score,
            self.is_default,
            self.active,
        )


def _segment(row: asyncpg.Record) -> dict[str, Any]:
    segment = dict(row)
    if isinstance(segment["rules"], str):
        segment["rules"] = json.loads(segment["rules"])
    return segment


class SegmentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, fields: SegmentFields) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = await self._write(_INSERT, uuid.uuid4(), *fields.values(), now)
        assert row is not None
        return _segment(row)

    async def update(self, segment_id: uuid.UUID, fields: SegmentFields) -> dict[str, Any] | None:
        row = await self._write(_UPDATE, segment_id, *fields.values())
        return None if row is None else _segment(row)

    async def _write(self, sql: str, *args: Any) -> asyncpg.Record | None:
        try:
            async with self._pool.acquire() as conn:
                row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
        except asyncpg.UniqueViolationError:
            raise SegmentExists from None
        return row

    async def get(self, segment_id: uuid.UUID) -> dict[str, Any] | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM segments WHERE id = $1",  # noqa: S608 - constant columns
                segment_id,
            )
        return None if row is None else _segment(row)

    async def all(self) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT {_COLUMNS} FROM segments ORDER BY name")  # noqa: S608
        return [_segment(row) for row in rows]

    async def delete(self, segment_id: uuid.UUID) -> bool:
        """Whether it existed; SegmentBusy if another replica's batch holds it."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{DELETE_LOCK_TIMEOUT}'")
                deleted = await conn.fetchval(
                    "DELETE FROM segments WHERE id = $1 RETURNING id", segment_id
                )
        except asyncpg.LockNotAvailableError:
            raise SegmentBusy from None
        return deleted is not None

    async def members(
        self, segment_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the segment's members (BadCursor for a cursor not ours)."""
        async with self._pool.acquire() as conn:
            return await segment_members(conn, segment_id, limit, cursor)
