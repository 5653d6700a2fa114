"""GET /metrics: the Prometheus exposition of observability.metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from observability.metrics import exposition_registry

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(exposition_registry()), media_type=CONTENT_TYPE_LATEST)
