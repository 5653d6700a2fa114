"""Edge validation of POST /api/v1/customers: every field error at once."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service import problems
from service.schemas import SEED_CREATE_EXAMPLE, CustomerCreate

SEED_EXAMPLE = SEED_CREATE_EXAMPLE


def test_the_seed_example_is_accepted() -> None:
    body = CustomerCreate.model_validate(SEED_EXAMPLE)

    assert body.to_command("id-1").date_of_birth == date(1990, 1, 1)
    assert body.email == "customer@example.com"


def test_email_case_is_kept_and_whitespace_trimmed() -> None:
    body = CustomerCreate.model_validate({**SEED_EXAMPLE, "email": "  Jane.Doe@Example.COM "})

    assert body.email == "Jane.Doe@Example.COM"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "no-at-sign"),
        ("email", "a@b"),
        ("phone", "0123 456"),
        ("phone", "+0123456789"),
        ("date_of_birth", "2999-01-01"),
        ("date_of_birth", "1850-06-01"),
        ("gender", "ROBOT"),
        ("customer_type", "GOVERNMENT"),
        ("status", "DELETED"),
        ("first_name", "x" * 101),
        ("registration_source", "y" * 51),
        ("customer_group_id", ""),
    ],
)
def test_each_bad_field_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        CustomerCreate.model_validate({**SEED_EXAMPLE, field: value})

    assert [error["loc"][0] for error in invalid.value.errors()] == [field]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as invalid:
        CustomerCreate.model_validate({**SEED_EXAMPLE, "is_admin": True})

    assert invalid.value.errors()[0]["type"] == "extra_forbidden"


def _client() -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.post("/customers")
    async def create(body: CustomerCreate) -> dict[str, str]:
        return {"email": body.email}

    return TestClient(app, raise_server_exceptions=False)


def test_all_errors_come_back_in_one_problem_document() -> None:
    bad = {**SEED_EXAMPLE, "email": "nope", "gender": "ROBOT", "favourite": 1}

    response = _client().post("/customers", json=bad)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:customer-service:problem:validation-failed"
    assert problem["status"] == 422
    assert problem["instance"] == "/customers"
    errors = {error["field"]: error for error in problem["errors"]}
    assert set(errors) == {"email", "gender", "favourite"}
    assert errors["favourite"]["message"] == "unknown field"
    assert all(error["in"] == "body" for error in problem["errors"])


def test_an_unexpected_error_hides_its_internals() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text
    assert response.json()["title"] == "Internal server error"
