"""Segments (admin): CRUD over the read model, members paged by cursor."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from domain.segments import Rule, rule_errors
from readmodel.queries import MAX_LIMIT, BadCursor
from readmodel.segment_store import SegmentBusy, SegmentExists, SegmentFields
from service.auth import AdminOnly
from service.dependencies import Segments
from service.features import SegmentsEnabled
from service.problems import Problem, validation_failed
from service.schemas import (
    CustomerPage,
    SegmentCreate,
    SegmentList,
    SegmentOut,
    SegmentReply,
    SegmentUpdate,
)

router = APIRouter(
    prefix="/api/v1/segments", tags=["segments"], dependencies=[AdminOnly, SegmentsEnabled]
)

_NOT_FOUND = Problem(404, "segment-not-found", "Segment not found")
_EXISTS = Problem(409, "segment-exists", "A segment with this name exists")


def _checked(fields: SegmentFields) -> SegmentFields:
    errors = rule_errors([Rule(**rule) for rule in fields.rules], fields.min_score)
    if errors:
        raise validation_failed(errors)
    return fields


async def _fetch(segments: Segments, segment_id: uuid.UUID) -> dict[str, Any]:
    segment = await segments.get(segment_id)
    if segment is None:
        raise _NOT_FOUND
    return segment


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SegmentReply)
async def create_segment(body: SegmentCreate, segments: Segments, response: Response) -> Any:
    fields = _checked(SegmentFields.of(body.model_dump()))
    try:
        segment = await segments.create(fields)
    except SegmentExists:
        raise _EXISTS from None
    response.headers["Location"] = f"{router.prefix}/{segment['id']}"
    return {"segment": segment}


@router.get("", response_model=SegmentList)
async def list_segments(segments: Segments) -> Any:
    return {"segments": await segments.all()}


@router.get("/{segment_id}", response_model=SegmentReply)
async def get_segment(segment_id: uuid.UUID, segments: Segments) -> Any:
    return {"segment": await _fetch(segments, segment_id)}


@router.patch("/{segment_id}", response_model=SegmentReply)
async def update_segment(segment_id: uuid.UUID, body: SegmentUpdate, segments: Segments) -> Any:
    current = SegmentOut.model_validate(await _fetch(segments, segment_id))
    merged = {**current.model_dump(), **body.model_dump(exclude_unset=True)}
    fields = _checked(SegmentFields.of(merged))
    try:
        segment = await segments.update(segment_id, fields)
    except SegmentExists:
        raise _EXISTS from None
    if segment is None:
        raise _NOT_FOUND
    return {"segment": segment}


@router.delete(
    "/{segment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={503: {"description": "the segment is locked by a long change elsewhere; retry"}},
)
async def delete_segment(segment_id: uuid.UUID, segments: Segments) -> None:
    """Deletes at once, even while the segment is being evaluated: the worker's
    evaluation holds the segment one short batch at a time and stops at its next."""
    try:
        deleted = await segments.delete(segment_id)
    except SegmentBusy:
        raise Problem(
            503, "segment-busy", "The segment is busy; retry", headers={"Retry-After": "1"}
        ) from None
    if not deleted:
        raise _NOT_FOUND


@router.get("/{segment_id}/customers", response_model=CustomerPage)
async def list_segment_members(
    segment_id: uuid.UUID,
    segments: Segments,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Any:
    await _fetch(segments, segment_id)
    try:
        rows, next_cursor = await segments.members(segment_id, limit, cursor)
    except BadCursor:
        raise Problem(400, "bad-cursor", "The cursor is not valid for this list") from None
    return {"customers": rows, "next_cursor": next_cursor}
