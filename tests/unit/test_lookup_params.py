"""The look-up parameters of GET /api/v1/customers: ids and phone."""

from __future__ import annotations

import uuid

import pytest

from service.lookup_params import MAX_IDS, customer_ids, parse_lookup, phone_error
from service.problems import Problem


def test_ids_keep_their_order_once_each_in_canonical_form() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    found, errors = customer_ids(f" {b} ,{a},{b.upper()}")
    assert (found, errors) == ([b, a], [])


def test_every_bad_id_is_its_own_error() -> None:
    good = str(uuid.uuid4())
    _, errors = customer_ids(f"x,{good},,{good}1")
    assert [e.field for e in errors] == ["ids[0]", "ids[2]", "ids[3]"]


def test_more_than_the_limit_is_one_error() -> None:
    ids = ",".join(str(uuid.uuid4()) for _ in range(MAX_IDS + 1))
    _, errors = customer_ids(ids)
    assert [(e.field, e.code) for e in errors] == [("ids", "too_many")]
    found, errors = customer_ids(ids.rsplit(",", 1)[0])
    assert (len(found), errors) == (MAX_IDS, [])


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("+14155550123", None),
        ("14155550123", "e164"),
        ("+1 415 555 0123", "e164"),
        ("+1234567890", "phone"),
        ("+0123", "e164"),
        ("+1" + "2" * 15, "e164"),
    ],
)
def test_a_phone_must_be_an_assigned_number_in_e164(phone: str, code: str | None) -> None:
    error = phone_error(phone)
    assert (error.code if error else None) == code


def test_a_look_up_is_never_mixed_with_list_parameters() -> None:
    with pytest.raises(Problem) as refused:
        parse_lookup(str(uuid.uuid4()), "+14155550123", ["cursor", "sort"])
    fields = {e["field"]: e["code"] for e in refused.value.extra["errors"]}
    assert fields == {
        "cursor": "not_combinable",
        "sort": "not_combinable",
        "phone": "not_combinable",
    }
    assert all(e["in"] == "query" for e in refused.value.extra["errors"])
    assert parse_lookup(None, "+14155550123", []).phone == "+14155550123"


def test_a_look_up_parameter_sent_twice_is_refused_not_the_last_taken() -> None:
    with pytest.raises(Problem) as refused:
        parse_lookup(str(uuid.uuid4()), None, [], ["ids", "include_deleted"])
    fields = {e["field"]: e["code"] for e in refused.value.extra["errors"]}
    assert fields == {"ids": "repeated", "include_deleted": "repeated"}
    assert refused.value.status == 422
