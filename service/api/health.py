"""Health: the seed's dependency report, and a probe pair for Kubernetes.

- ``GET /api/v1/customers/health``: each dependency (sidecar, Postgres); 503 if one is down.
- ``GET /livez``: the process answers (no dependency checks: a restart fixes nothing there).
- ``GET /readyz``: same checks as health; take the pod out of the Service while it fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.dependencies import Deps, Resources
from service.schemas import DependencyHealth, HealthReply

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_SECONDS = 2.0


async def _sidecar(resources: Resources) -> DependencyHealth:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            async with resources.sidecar.get("/v1.0/healthz") as response:
                status = response.status
    except Exception as exc:
        return DependencyHealth(status="down", detail=type(exc).__name__)
    if status >= 300:
        return DependencyHealth(status="down", detail=f"healthz answered {status}")
    return DependencyHealth(status="up")


async def _postgres(resources: Resources) -> DependencyHealth:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            await resources.database.fetchval("SELECT 1")
    except Exception as exc:
        return DependencyHealth(status="down", detail=type(exc).__name__)
    return DependencyHealth(status="up")


async def _report(resources: Resources) -> JSONResponse:
    sidecar, postgres = await asyncio.gather(_sidecar(resources), _postgres(resources))
    checks = {"sidecar": sidecar, "postgres": postgres}
    healthy = all(check.status == "up" for check in checks.values())
    reply = HealthReply(
        status="healthy" if healthy else "unhealthy", service="customer-service", checks=checks
    )
    return JSONResponse(reply.model_dump(exclude_none=True), status_code=200 if healthy else 503)


@router.get("/api/v1/customers/health", response_model=HealthReply)
async def health(resources: Deps) -> JSONResponse:
    return await _report(resources)


@router.get("/readyz", response_model=HealthReply)
async def readiness(resources: Deps) -> JSONResponse:
    return await _report(resources)


@router.get("/livez")
async def liveness() -> dict[str, Any]:
    return {"status": "alive"}
