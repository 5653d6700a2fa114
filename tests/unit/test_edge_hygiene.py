"""The app's edge without the stack: what it answers before any route runs
(413, security headers on 500s), and every field error of a body at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.middleware import SECURITY_HEADERS
from service.schemas import (
    CREATE_EXAMPLE,
    AddressCreate,
    CustomerCreate,
    LoginRequest,
    PreferencesUpdate,
    RegisterRequest,
    SegmentCreate,
)
from service.settings import Settings
from tests.support.hostile import NUL, nested
from tests.support.values import NEW_YORK_ADDRESS
from tests.unit.test_customer_create_schema import answer_to


@pytest.fixture
def app() -> FastAPI:
    # No lifespan: nothing here reaches a route that needs the sidecar or Postgres.
    return create_app(Settings(environment="development", max_body_bytes=4096))


def test_a_500_carries_the_security_headers(app: FastAPI) -> None:
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/customers/boom/now", boom)

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/customers/boom/now")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS:
        assert response.headers[name.decode()] == value.decode()


def test_a_body_over_the_limit_is_413_before_parsing(app: FastAPI) -> None:
    client = TestClient(app)
    declared = client.post(
        "/api/v1/customers/login",
        content=b"{" + b" " * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["type"].endswith(":payload-too-large")
    assert declared.headers["x-content-type-options"] == "nosniff"


def test_a_chunked_body_over_the_limit_is_413_too(app: FastAPI) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = TestClient(app).post(
        "/api/v1/customers/login", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["status"] == 413


TEXT_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "registration_source",
    "customer_group_id",
]


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_nul_is_refused_in_every_text_field_of_a_create(field: str) -> None:
    value = str(CREATE_EXAMPLE.get(field) or "retail") + NUL
    with pytest.raises(ValidationError) as invalid:
        CustomerCreate.model_validate({**CREATE_EXAMPLE, field: value})
    assert [e["loc"] for e in invalid.value.errors()] == [(field,)]


def test_every_bad_key_and_value_of_metadata_is_listed_with_the_other_errors() -> None:
    body = {
        **CREATE_EXAMPLE,
        "first_name": "Jo\x00hn",
        "metadata": {"ok": 1, "bad\x00key": 1, "nested": {"v": "x\x00"}, "deep": nested(300)},
    }
    with pytest.raises(ValidationError) as invalid:
        CustomerCreate.model_validate(body)
    locations = {".".join(str(p) for p in e["loc"]) for e in invalid.value.errors()}
    assert locations == {
        "first_name",
        "metadata.bad\\u0000key",
        "metadata.nested.v",
        "metadata.deep.a.a.a.a.a.a.a",
    }


def test_custom_preferences_and_address_metadata_are_bounded() -> None:
    with pytest.raises(ValidationError):
        PreferencesUpdate.model_validate({"custom_preferences": {"x": "y" * 20_000}})
    with pytest.raises(ValidationError):
        AddressCreate.model_validate(
            {**_ADDRESS, "metadata": {"note": "y" * 2000}, "city": "New\x00York"}
        )


def test_secrets_and_lookups_refuse_control_characters() -> None:
    with pytest.raises(ValidationError) as login:
        LoginRequest.model_validate({"email": "a@b.co\x00", "password": "pass\x00word"})
    assert {e["loc"][0] for e in login.value.errors()} == {"email", "password"}
    with pytest.raises(ValidationError):
        RegisterRequest.model_validate({**CREATE_EXAMPLE, "password": "correct\x00horse battery"})


def test_segment_fields_and_rule_values_are_checked_before_anything_is_stored() -> None:
    body = {
        "name": "n\x00",
        "description": "two\nlines are fine, \x07 is not",
        "rules": [
            {"field": "status\x00", "operator": "eq", "value": "ACTIVE"},
            {"field": "status", "operator": "in", "value": [nested(300)]},
        ],
    }
    with pytest.raises(ValidationError) as invalid:
        SegmentCreate.model_validate(body)
    fields = {".".join(str(p) for p in e["loc"][:3]) for e in invalid.value.errors()}
    assert {"name", "description", "rules.0.field", "rules.1.value"} <= fields


_ADDRESS = NEW_YORK_ADDRESS


def test_an_unreachable_database_is_a_503_to_retry_not_a_500() -> None:
    response = answer_to(ConnectionRefusedError("connect call failed"))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith(":unavailable")


def test_with_several_processes_every_hundredth_answer_asks_for_a_new_connection() -> None:
    app = create_app(Settings(environment="development", http_workers=2))

    async def ok() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_api_route("/api/v1/customers/ok/now", ok)
    client = TestClient(app)  # no lifespan: the route needs nothing
    closing = [
        i
        for i in range(1, 301)
        if client.get("/api/v1/customers/ok/now").headers.get("connection") == "close"
    ]
    assert closing == [100, 200, 300]

    single = create_app(Settings(environment="development", http_workers=1))
    single.add_api_route("/api/v1/customers/ok/now", ok)
    answers = [TestClient(single).get("/api/v1/customers/ok/now") for _ in range(150)]
    assert all("connection" not in answer.headers for answer in answers)
