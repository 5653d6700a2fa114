"""The gate and the actor guard in front of a small app, as FastAPI runs them."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from security import command_signature
from security.macs import MacKeyring
from service.actor_guard import ActorCallGuard
from service.callers import Scope
from service.gate import CallerGate

TOKEN = "s3cr3t-app-token"
KEYS = MacKeyring({"c1": b"c" * 32})
SIDECAR = {"dapr-api-token": TOKEN}


def client(valid_bearer: str = "good") -> TestClient:
    app = FastAPI()

    @app.put("/actors/{actor_type}/{actor_id}/method/{method:path}")
    async def actor(
        actor_type: str, actor_id: str, method: str, request: Request
    ) -> dict[str, str]:
        return {"called": method, "body": (await request.body()).decode()}

    @app.delete("/actors/{actor_type}/{actor_id}")
    async def deactivate(actor_type: str, actor_id: str) -> dict[str, str]:
        return {"deactivated": actor_id}

    @app.get("/api/v1/customers/{customer_id}")
    async def customer(customer_id: str, request: Request) -> dict[str, object]:
        origin = request.state.origin
        return {"way": origin.way.value, "caller": origin.caller}

    @app.post("/api/v1/customers/login")
    async def login() -> dict[str, str]:
        return {"signed": "in"}

    @app.get("/livez")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    app.add_middleware(ActorCallGuard, keys=KEYS)
    app.add_middleware(
        CallerGate,
        app_token=TOKEN,
        app_id="customer-service",
        callers={"crm": Scope.ADMIN, "orders": Scope.READ},
        bearer_is_valid=lambda headers: (
            (b"authorization", f"Bearer {valid_bearer}".encode()) in headers
        ),
    )
    return TestClient(app)


def invoked_by(app_id: str) -> dict[str, str]:
    return {
        **SIDECAR,
        "dapr-caller-app-id": app_id,
        "dapr-callee-app-id": "customer-service",
        "forwarded": "for=192.0.2.2",
    }


def signed(method: str, body: bytes, actor_id: str = "c-1") -> dict[str, str]:
    signature = command_signature.sign(KEYS, "Customer", actor_id, method, body, time.time())
    return {**SIDECAR, command_signature.HEADER: signature}


def test_a_signed_actor_call_gets_through_with_its_body() -> None:
    body = b'{"changes":{}}'
    response = client().put(
        "/actors/Customer/c-1/method/update", content=body, headers=signed("update", body)
    )
    assert response.json() == {"called": "update", "body": body.decode()}


@pytest.mark.parametrize(
    "headers",
    [
        SIDECAR,
        signed("get", b"{}"),  # another method
        signed("update", b'{"other":1}'),  # another body
        signed("update", b"{}", actor_id="c-2"),  # another actor
    ],
)
def test_unsigned_or_mismatched_actor_calls_are_refused(headers: dict[str, str]) -> None:
    response = client().put("/actors/Customer/c-1/method/update", content=b"{}", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "called" not in response.text


def test_deactivation_from_our_sidecar_passes_and_a_forged_one_does_not() -> None:
    guarded = client()
    assert guarded.delete("/actors/Customer/c-1", headers=SIDECAR).status_code == 200
    for mark in ({"dapr-api-call": "true"}, {"x-dapr-remote": "true"}):
        headers = {**SIDECAR, **mark}
        assert guarded.delete("/actors/Customer/c-1", headers=headers).status_code == 403


def test_invocation_cannot_reach_actor_routes_even_from_an_admin_caller() -> None:
    body = b"{}"
    headers = {**signed("get", body), **invoked_by("crm")}
    response = client().put("/actors/Customer/c-1/method/get", content=body, headers=headers)
    assert response.status_code == 403


def test_listed_callers_get_in_and_unlisted_ones_only_with_a_bearer_token() -> None:
    gate = client()
    assert gate.get("/api/v1/customers/c-1", headers=invoked_by("crm")).json() == {
        "way": "invocation",
        "caller": "crm",
    }
    assert gate.get("/api/v1/customers/c-1", headers=invoked_by("intruder")).status_code == 403
    assert gate.get("/api/v1/customers/c-1", headers=SIDECAR).status_code == 403  # self
    bearer = {**invoked_by("intruder"), "authorization": "Bearer good"}
    assert gate.get("/api/v1/customers/c-1", headers=bearer).status_code == 200
    forged = {**invoked_by("intruder"), "authorization": "Bearer forged"}
    assert gate.get("/api/v1/customers/c-1", headers=forged).status_code == 403


def test_probes_answer_everyone_and_direct_calls_pass_to_the_routes() -> None:
    gate = client()
    assert gate.get("/livez", headers=invoked_by("intruder")).status_code == 200
    assert gate.get("/api/v1/customers/c-1").json() == {"way": "direct", "caller": None}


def test_a_read_caller_may_not_use_the_public_writes() -> None:
    gate = client()
    assert gate.get("/api/v1/customers/c-1", headers=invoked_by("orders")).status_code == 200
    assert gate.post("/api/v1/customers/login", headers=invoked_by("orders")).status_code == 403
    assert gate.post("/api/v1/customers/login").status_code == 200  # direct: public


def test_timers_and_reminders_are_refused_this_service_sets_none() -> None:
    guarded = client()
    for name in ("remind/erase", "timer/t"):
        response = guarded.put(f"/actors/Customer/c-1/method/{name}", headers=SIDECAR)
        assert response.status_code == 403


def test_the_erasure_reminder_passes_from_our_sidecar_and_by_name_only() -> None:
    guarded = client()
    path = "/actors/Customer/c-1/method/remind/erasure-due"
    fired = guarded.put(path, headers=SIDECAR, content=b'{"data": "anything"}')
    assert fired.status_code == 200
    assert fired.json()["called"] == "remind/erasure-due"
    # Asked through a sidecar's actor API, not fired by our sidecar: a forgery.
    for mark in ("dapr-api-call", "x-dapr-remote"):
        forged = guarded.put(path, headers={**SIDECAR, mark: "1"})
        assert forged.status_code == 403
    other = guarded.put("/actors/Customer/c-1/method/remind/erasure-due-2", headers=SIDECAR)
    assert other.status_code == 403


def test_signed_calls_get_signed_answers_and_others_none() -> None:
    body = b'{"changes":{}}'
    headers = signed("update", body)
    response = client().put("/actors/Customer/c-1/method/update", content=body, headers=headers)
    tag = response.headers[command_signature.REPLY_HEADER]
    assert command_signature.verify_reply(
        KEYS, headers[command_signature.HEADER], 200, response.content, tag
    )
    assert not command_signature.verify_reply(
        KEYS, headers[command_signature.HEADER], 200, b'{"forged":1}', tag
    )
    deactivated = client().delete("/actors/Customer/c-1", headers=SIDECAR)
    assert command_signature.REPLY_HEADER not in deactivated.headers
