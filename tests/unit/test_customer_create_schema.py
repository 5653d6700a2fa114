"""Edge validation of the request bodies: every field error at once."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service import problems
from service.schemas import (
    ADDRESS_EXAMPLE,
    CREATE_EXAMPLE,
    AddressCreate,
    AddressUpdate,
    CustomerCreate,
    CustomerUpdate,
    PreferencesUpdate,
)

SEED_EXAMPLE = CREATE_EXAMPLE


def test_the_seed_example_is_accepted() -> None:
    body = CustomerCreate.model_validate(SEED_EXAMPLE)

    assert body.to_command("id-1", None).date_of_birth == date(1990, 1, 1)
    assert body.email == "customer@example.com"


def test_the_seed_phone_is_not_a_real_number() -> None:
    with pytest.raises(ValidationError):
        CustomerCreate.model_validate({**SEED_EXAMPLE, "phone": "+1234567890"})


def test_phones_are_stored_in_e164() -> None:
    body = CustomerCreate.model_validate({**SEED_EXAMPLE, "phone": "+44 20 7183 8750"})
    assert body.phone == "+442071838750"


def test_an_update_carries_only_what_was_sent_and_null_clears() -> None:
    body = CustomerUpdate.model_validate({"first_name": "Jane", "phone": None})
    assert body.to_changes() == {"first_name": "Jane", "phone": None}


def test_an_update_cannot_null_a_required_field() -> None:
    with pytest.raises(ValidationError) as invalid:
        CustomerUpdate.model_validate({"email": None, "status": None, "name": "x"})
    assert sorted(e["loc"][0] for e in invalid.value.errors()) == ["email", "name", "status"]


def test_the_seed_address_example_is_accepted() -> None:
    body = AddressCreate.model_validate(ADDRESS_EXAMPLE)
    assert body.is_default is True
    assert "customer_id" not in body.to_fields()


def test_address_syntax_errors_come_together() -> None:
    bad = {"type": "HOME", "address_line_1": "", "country_code": "USA", "phone": "12"}
    with pytest.raises(ValidationError) as invalid:
        AddressCreate.model_validate(bad)
    fields = sorted(str(e["loc"][0]) for e in invalid.value.errors())
    assert fields == ["address_line_1", "city", "country_code", "phone", "type"]


def test_an_address_update_keeps_is_default_apart() -> None:
    body = AddressUpdate.model_validate({"city": "Albany", "is_default": True})
    assert body.to_changes() == {"city": "Albany"}
    assert body.is_default is True


def test_preferences_take_booleans_and_a_source() -> None:
    body = PreferencesUpdate.model_validate({"newsletter": True, "source": "checkout"})
    assert body.flags() == {"newsletter": True}
    with pytest.raises(ValidationError):
        PreferencesUpdate.model_validate({"newsletter": None, "telepathy": True})


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


def answer_to(error: Exception) -> httpx.Response:
    """The answer of an app whose one route raises ``error``."""
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    response: httpx.Response = TestClient(app, raise_server_exceptions=False).get("/boom")
    return response


def test_an_unexpected_error_hides_its_internals() -> None:
    response = answer_to(RuntimeError("password=hunter2 at /srv/secret.py line 3"))

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text
    assert response.json()["title"] == "Internal server error"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("en-us", "en-US"), ("de", "de"), ("zh-hant-tw", "zh-Hant-TW"), ("vi-VN", "vi-VN")],
)
def test_a_locale_is_a_registered_bcp47_tag_in_its_standard_form(sent: str, kept: str) -> None:
    assert CustomerUpdate.model_validate({"locale": sent}).locale == kept


@pytest.mark.parametrize("sent", ["en_US", "english", "xx-YY", "en-", "", "e" * 36])
def test_anything_else_is_not_a_locale(sent: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CustomerUpdate.model_validate({"locale": sent})
    assert [e["loc"] for e in refused.value.errors()] == [("locale",)]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("DE 136.695.976", "DE136695976"),
        ("el094259216", "EL094259216"),  # Greece, as the EU spells it
        ("GB980780684", "GB980780684"),
        ("CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("US12345678", "US12345678"),  # no rules known for the country: its shape only
    ],
)
def test_a_vat_id_is_checked_by_its_countrys_rules(sent: str, kept: str) -> None:
    assert CustomerUpdate.model_validate({"vat_id": sent}).vat_id == kept


@pytest.mark.parametrize("sent", ["DE136695977", "GB980780685", "136695976", "D1", "FR!!"])
def test_a_vat_id_its_country_refuses_is_a_field_error(sent: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CustomerCreate.model_validate({**SEED_EXAMPLE, "vat_id": sent, "locale": "nope_NO"})
    assert sorted(e["loc"][0] for e in refused.value.errors()) == ["locale", "vat_id"]
