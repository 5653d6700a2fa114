"""Segments (admin): CRUD over the read model, members paged by cursor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response, status

from domain.segments import Rule, rule_errors
from readmodel.queries import MAX_LIMIT, BadCursor, segment_members
from service.auth import AdminOnly
from service.dependencies import Deps
from service.problems import Problem
from service.schemas import (
    CustomerPage,
    SegmentCreate,
    SegmentList,
    SegmentOut,
    SegmentReply,
    SegmentUpdate,
)
from service.segment_jobs import SegmentJobs

router = APIRouter(prefix="/api/v1/segments", tags=["segments"], dependencies=[AdminOnly])

_COLUMNS = (
    "id::text AS id, name, description, rules, min_score, is_default, active, version, "
    "created_at, updated_at, evaluated_at"
)


def _out(row: asyncpg.Record) -> dict[str, Any]:
    segment = dict(row)
    if isinstance(segment["rules"], str):
        segment["rules"] = json.loads(segment["rules"])
    return segment


def _check(rules: list[dict[str, Any]], min_score: int | None) -> None:
    errors = rule_errors([Rule(**rule) for rule in rules], min_score)
    if errors:
        raise Problem(
            422,
            "validation-failed",
            "The request is not valid",
            f"{len(errors)} field error(s)",
            errors=[
                {"field": e.field, "in": "body", "message": e.message, "code": e.code}
                for e in errors
            ],
        )


def _jobs(request: Request) -> SegmentJobs:
    jobs: SegmentJobs = request.app.state.segment_jobs
    return jobs


async def _fetch(deps: Deps, segment_id: uuid.UUID) -> dict[str, Any]:
    async with deps.database.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM segments WHERE id = $1",  # noqa: S608 - constant columns
            segment_id,
        )
    if row is None:
        raise Problem(404, "segment-not-found", "Segment not found")
    return _out(row)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SegmentReply)
async def create_segment(
    body: SegmentCreate, deps: Deps, request: Request, response: Response
) -> Any:
    rules = [rule.model_dump() for rule in body.rules]
    _check(rules, body.min_score)
    now = datetime.now(UTC)
    try:
        async with deps.database.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO segments (id, name, description, rules, min_score, is_default, "  # noqa: S608
                "active, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $8) "
                f"RETURNING {_COLUMNS}",
                uuid.uuid4(),
                body.name,
                body.description,
                json.dumps(rules),
                body.min_score,
                body.is_default,
                body.active,
                now,
            )
    except asyncpg.UniqueViolationError:
        raise Problem(409, "segment-exists", "A segment with this name exists") from None
    assert row is not None
    segment = _out(row)
    _jobs(request).evaluate(segment["id"])
    response.headers["Location"] = f"{router.prefix}/{segment['id']}"
    return {"segment": segment}


@router.get("", response_model=SegmentList)
async def list_segments(deps: Deps) -> Any:
    async with deps.database.acquire() as conn:
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM segments ORDER BY name")  # noqa: S608
    return {"segments": [_out(row) for row in rows]}


@router.get("/{segment_id}", response_model=SegmentReply)
async def get_segment(segment_id: uuid.UUID, deps: Deps) -> Any:
    return {"segment": await _fetch(deps, segment_id)}


@router.patch("/{segment_id}", response_model=SegmentReply)
async def update_segment(
    segment_id: uuid.UUID, body: SegmentUpdate, deps: Deps, request: Request
) -> Any:
    current = SegmentOut.model_validate(await _fetch(deps, segment_id))
    sent = body.model_dump(exclude_unset=True)
    merged = {**current.model_dump(), **sent}
    rules = [r if isinstance(r, dict) else r.model_dump() for r in merged["rules"]]
    _check(rules, merged["min_score"])
    try:
        async with deps.database.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE segments SET name = $2, description = $3, rules = $4::jsonb, "  # noqa: S608
                "min_score = $5, is_default = $6, active = $7, version = version + 1, "
                f"updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
                segment_id,
                merged["name"],
                merged["description"],
                json.dumps(rules),
                merged["min_score"],
                merged["is_default"],
                merged["active"],
            )
    except asyncpg.UniqueViolationError:
        raise Problem(409, "segment-exists", "A segment with this name exists") from None
    if row is None:
        raise Problem(404, "segment-not-found", "Segment not found")
    segment = _out(row)
    _jobs(request).evaluate(segment["id"])
    return {"segment": segment}


# How long a delete waits for another replica's evaluation batch (one batch is far less).
DELETE_LOCK_TIMEOUT = "3s"


@router.delete(
    "/{segment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={503: {"description": "the segment is locked by a long change elsewhere; retry"}},
)
async def delete_segment(segment_id: uuid.UUID, deps: Deps, request: Request) -> None:
    """Deletes at once, even while the segment is being evaluated: this replica's
    evaluation is cancelled first, another replica's stops at its next batch."""
    await _jobs(request).cancel(str(segment_id))
    try:
        async with deps.database.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{DELETE_LOCK_TIMEOUT}'")
            deleted = await conn.fetchval(
                "DELETE FROM segments WHERE id = $1 RETURNING id", segment_id
            )
    except asyncpg.LockNotAvailableError:
        raise Problem(
            503, "segment-busy", "The segment is busy; retry", headers={"Retry-After": "1"}
        ) from None
    if deleted is None:
        raise Problem(404, "segment-not-found", "Segment not found")


@router.get("/{segment_id}/customers", response_model=CustomerPage)
async def list_segment_members(
    segment_id: uuid.UUID,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Any:
    await _fetch(deps, segment_id)
    try:
        async with deps.database.acquire() as conn:
            rows, next_cursor = await segment_members(conn, segment_id, limit, cursor)
    except BadCursor:
        raise Problem(400, "bad-cursor", "The cursor is not valid for this list") from None
    return {"customers": rows, "next_cursor": next_cursor}
