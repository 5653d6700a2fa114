"""Sidecar-only routes need the app API token; the public API does not."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.sidecar_guard import SidecarOnlyGuard

TOKEN = "s3cr3t-app-token"


def client(token: str | None) -> TestClient:
    app = FastAPI()

    @app.put("/actors/Customer/{actor_id}/method/{method}")
    async def actor(actor_id: str, method: str) -> dict[str, str]:
        return {"called": method}

    @app.get("/dapr/config")
    async def config() -> dict[str, str]:
        return {}

    @app.get("/api/v1/customers/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    app.add_middleware(SidecarOnlyGuard, token=token)
    return TestClient(app)


@pytest.mark.parametrize("headers", [{}, {"dapr-api-token": "wrong"}, {"dapr-api-token": ""}])
def test_actor_routes_refuse_a_missing_or_wrong_token(headers: dict[str, str]) -> None:
    response = client(TOKEN).put("/actors/Customer/c-1/method/create", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:customer-service:problem:unauthenticated"
    assert TOKEN not in response.text


def test_the_sidecars_token_opens_them() -> None:
    guarded = client(TOKEN)

    assert guarded.put(
        "/actors/Customer/c-1/method/create", headers={"dapr-api-token": TOKEN}
    ).json() == {"called": "create"}
    assert guarded.get("/dapr/config", headers={"dapr-api-token": TOKEN}).status_code == 200
    assert guarded.get("/dapr/config").status_code == 401


def test_public_routes_need_no_app_token() -> None:
    assert client(TOKEN).get("/api/v1/customers/health").status_code == 200


def test_without_a_configured_token_nothing_is_guarded() -> None:
    # Development only: settings refuse to start without one elsewhere.
    assert client(None).put("/actors/Customer/c-1/method/create").status_code == 200
