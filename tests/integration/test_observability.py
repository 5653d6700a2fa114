"""Operators' view: /metrics, JSON logs with trace ids, no secrets anywhere."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx

from devstack.stack import App
from tests.integration.conftest import (
    APP_API_TOKEN,
    DAPR_API_TOKEN,
    DATABASE_PASSWORD,
    JWT_SECRET,
    customer_body,
)


def log_lines(app: App) -> list[dict[str, Any]]:
    path = Path(app.app.log_path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


async def test_metrics_expose_the_seed_series_after_requests(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/customers", json=customer_body())
    assert created.status_code == 201
    await api.post("/api/v1/customers", json=customer_body(email="bad"))

    text = (await api.get("/metrics")).text

    assert (
        'customer_requests_total{endpoint="/api/v1/customers",method="POST",status="201"}' in text
    )
    assert 'customer_request_duration_seconds_bucket{endpoint="/api/v1/customers"' in text
    assert "customer_created_total " in text
    assert 'customer_errors_total{endpoint="/api/v1/customers",type="validation-failed"}' in text
    assert 'customer_actor_calls_total{actor_type="Customer",method="create"}' in text
    assert 'customer_events_committed_total{type="customer.created"}' in text
    assert 'customer_state_commit_duration_seconds_count{outcome="committed"}' in text


async def test_outbox_lag_is_measured_from_the_delivered_events(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/customers", json=customer_body())
    assert created.status_code == 201

    for _ in range(100):
        text = (await api.get("/metrics")).text
        if 'customer_events_received_total{type="customer.created"}' in text:
            break
        await asyncio.sleep(0.1)
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("customer_outbox_lag_seconds_count")
    )
    assert count >= 1


async def test_logs_are_json_with_the_callers_trace_id(
    api: httpx.AsyncClient, customer_service: App
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"

    response = await api.post(
        "/api/v1/customers",
        json=customer_body(),
        headers={"traceparent": traceparent},
    )
    assert response.status_code == 201
    customer_id = response.json()["customer"]["id"]
    await asyncio.sleep(0.5)  # let the process flush its lines

    lines = await asyncio.to_thread(log_lines, customer_service)
    traced = [line for line in lines if line.get("trace_id") == trace_id]
    endpoints = {line.get("endpoint") for line in traced}
    # The request itself, and the actor call the sidecar made for it.
    assert "/api/v1/customers" in endpoints
    assert "/actors/{actor_type_name}/{actor_id}/method/{method_name}" in endpoints
    for line in traced:
        assert {"level", "time", "logger", "message"} <= set(line)
    # One access line per request, the service's own (uvicorn's would repeat it).
    assert {line["logger"] for line in traced} == {"customer_service.access"}
    access = next(line for line in traced if line["endpoint"] == "/api/v1/customers")
    assert access["status"] == 201
    assert access["duration_ms"] > 0
    actor_line = next(
        line for line in traced if line["endpoint"].startswith("/actors/") and "customer_id" in line
    )
    assert actor_line["customer_id"] == customer_id


def test_no_secret_reaches_a_log(customer_service: App) -> None:
    texts = [
        Path(customer_service.app.log_path).read_text(),
        Path(customer_service.sidecar.log_path).read_text(),
    ]

    for text in texts:
        for secret in (JWT_SECRET, DATABASE_PASSWORD, APP_API_TOKEN, DAPR_API_TOKEN):
            assert secret not in text
