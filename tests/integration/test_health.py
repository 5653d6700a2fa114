"""Health reports each dependency and answers 503 when one is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.processes import free_port
from devstack.stack import (
    CUSTOMER_PORT_VARIABLES,
    App,
    Infrastructure,
    customer_service_command,
    customer_service_env,
    start_app,
)
from tests.support.polling import eventually

HEALTHY_CHECKS = (
    "sidecar",
    "postgres",
    "worker",
    "event_delivery",
    "pubsub",
    "projection",
    "outbox",
)


async def test_health_reports_every_dependency_up(api: httpx.AsyncClient) -> None:
    async def healthy() -> httpx.Response | None:
        response = await api.get("/api/v1/customers/health")
        return response if response.status_code == 200 else None

    # The worker reports every few seconds; its first heartbeat takes a moment.
    response = await eventually(healthy, within=30, what="a healthy report")

    assert response.json() == {
        "status": "healthy",
        "service": "customer-service",
        "checks": {name: {"status": "up"} for name in HEALTHY_CHECKS},
    }
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    # Readiness is this pod's own dependencies only.
    assert set(ready.json()["checks"]) == {"sidecar", "postgres"}
    assert (await api.get("/livez")).json() == {"status": "alive"}


@pytest.fixture(scope="module")
def degraded_service(infra: Infrastructure, stack_root: Path) -> Iterator[App]:
    """A second instance whose Postgres DSN points at a port nobody serves.

    It stays out of placement: its sidecar is restarted below, and a host that
    leaves and rejoins the actor table is not what this module tests.
    """
    env = {
        **customer_service_env(infra),
        "CUSTOMER_DATABASE_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/customer_db",
    }
    app = start_app(
        "customer-service-degraded",
        customer_service_command(),
        infra,
        stack_root,
        env=env,
        port_variables=CUSTOMER_PORT_VARIABLES,
        join_placement=False,
    )
    yield app
    app.stop()


async def test_health_is_503_when_postgres_is_down(degraded_service: App) -> None:
    async with httpx.AsyncClient(base_url=degraded_service.app_url) as client:
        health = await client.get("/api/v1/customers/health")
        ready = await client.get("/readyz")
        live = await client.get("/livez")

    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["sidecar"] == {"status": "up"}
    assert body["checks"]["postgres"]["status"] == "down"
    assert ready.status_code == 503
    assert live.status_code == 200  # a restart would not bring Postgres back


async def test_health_is_503_when_the_sidecar_is_down(degraded_service: App) -> None:
    degraded_service.sidecar.stop()
    try:
        async with httpx.AsyncClient(base_url=degraded_service.app_url) as client:
            health = await client.get("/api/v1/customers/health")
        assert health.status_code == 503
        assert health.json()["checks"]["sidecar"]["status"] == "down"
    finally:
        degraded_service.restart_sidecar()
