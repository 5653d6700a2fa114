"""Health: the seed's dependency report, and a probe pair for Kubernetes.

- ``GET /api/v1/customers/health``: this replica's sidecar and Postgres, and event
  delivery as its worker last saw it (worker, heartbeat, publishing, projection
  lag, outbox markers left behind); 503 with the reasons if anything is down.
- ``GET /livez``: the process answers (no dependency checks: a restart fixes nothing
  there). Dapr's app health check uses it too.
- ``GET /readyz``: only this pod's own dependencies (its sidecar, Postgres), so that a
  cluster-wide pub/sub problem does not take every pod out of the Service at once.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.delivery_health import UP, Limits, judge
from service.dependencies import AppServices, Services
from service.schemas import DependencyHealth, HealthReply

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_SECONDS = 2.0


async def _sidecar(services: Services) -> DependencyHealth:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            async with services.sidecar.get("/v1.0/healthz") as response:
                status = response.status
    except Exception as exc:
        return DependencyHealth(status="down", detail=type(exc).__name__)
    if status >= 300:
        return DependencyHealth(status="down", detail=f"healthz answered {status}")
    return DependencyHealth(status="up")


async def _postgres(services: Services) -> DependencyHealth:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            await services.database.fetchval("SELECT 1")
    except Exception as exc:
        return DependencyHealth(status="down", detail=type(exc).__name__)
    return DependencyHealth(status="up")


async def _delivery(services: Services) -> dict[str, DependencyHealth]:
    settings = services.settings
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            report = await services.database.fetchrow(
                "SELECT *, extract(epoch FROM now() - reported_at) AS report_age, "
                "extract(epoch FROM now() - oldest_outbox_marker_at) AS oldest_marker_age "
                "FROM worker_status WHERE replica = $1",
                settings.replica_id,
            )
    except Exception as exc:
        return {"worker": DependencyHealth(status="down", detail=type(exc).__name__)}
    limits = Limits(
        report_max_age=max(15.0, 3 * settings.status_seconds),
        heartbeat_max_age=settings.heartbeat_max_age_seconds,
        projection_lag_bound=settings.projection_lag_bound_seconds,
    )
    verdicts = judge(_decoded(report), limits)
    return {
        name: DependencyHealth(status=check.status, detail=check.detail)
        for name, check in verdicts.items()
    }


def _decoded(report: asyncpg.Record | None) -> dict[str, Any] | None:
    if report is None:
        return None
    row = dict(report)
    if isinstance(row["streams"], str):  # jsonb arrives as text
        row["streams"] = json.loads(row["streams"])
    return row


def _answer(checks: dict[str, DependencyHealth]) -> JSONResponse:
    healthy = all(check.status == UP for check in checks.values())
    reply = HealthReply(
        status="healthy" if healthy else "unhealthy", service="customer-service", checks=checks
    )
    return JSONResponse(reply.model_dump(exclude_none=True), status_code=200 if healthy else 503)


@router.get("/api/v1/customers/health", response_model=HealthReply)
async def health(services: AppServices) -> JSONResponse:
    sidecar, postgres, delivery = await asyncio.gather(
        _sidecar(services), _postgres(services), _delivery(services)
    )
    return _answer({"sidecar": sidecar, "postgres": postgres, **delivery})


@router.get("/readyz", response_model=HealthReply)
async def readiness(services: AppServices) -> JSONResponse:
    sidecar, postgres = await asyncio.gather(_sidecar(services), _postgres(services))
    return _answer({"sidecar": sidecar, "postgres": postgres})


@router.get("/livez")
async def liveness() -> dict[str, Any]:
    return {"status": "alive"}
