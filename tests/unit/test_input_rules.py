"""The pure input rules: text, free-form JSON, moments, emails, segment rule values."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from domain.address_format import country_rule_errors
from domain.input_rules import (
    ADDRESS_METADATA,
    FREE_FORM,
    bounded_moment,
    day_in_utc,
    json_errors,
    unsafe_text,
)
from domain.segments import Rule, rule_errors
from domain.unique_keys import email_key, normalize_email
from readmodel.queries import BadCursor, decode_cursor
from readmodel.rekey_claims import legacy_email_key
from tests.support.hostile import CONTROL_CHARACTERS, FORGED_CURSORS, nested, nested_lists, nfd


@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
def test_control_characters_and_lone_surrogates_are_unsafe(character: str) -> None:
    assert unsafe_text(f"Jo{character}hn") is not None
    assert unsafe_text(f"Jo{character}hn", multiline=True) is not None


def test_plain_text_accents_and_multiline_whitespace_are_safe() -> None:
    assert unsafe_text("Zoë O'Brien, 東京") is None
    assert unsafe_text("line one\nline two\ttab\r\n") is not None
    assert unsafe_text("line one\nline two\ttab\r\n", multiline=True) is None


def test_every_bad_key_and_value_of_free_form_json_is_named_by_its_path() -> None:
    value = {"ok": "fine", "a": {"b": ["x", "y\x00"], "k\x01": 1}, "n": float("nan")}

    errors = {(e.field, e.code) for e in json_errors(value, FREE_FORM)}

    assert errors == {("a.b.1", "unsafe_text"), ("a.k\\u0001", "unsafe_text"), ("n", "not_finite")}


@pytest.mark.parametrize("depth", [9, 256, 999, 100_000])
def test_free_form_json_deeper_than_the_limit_is_refused_without_recursion(depth: int) -> None:
    errors = json_errors(nested(depth), FREE_FORM)
    assert [e.code for e in errors] == ["too_deep"]
    assert [e.code for e in json_errors({"l": nested_lists(depth)}, FREE_FORM)] == ["too_deep"]


def test_free_form_json_at_the_limits_is_accepted() -> None:
    assert json_errors(nested(FREE_FORM.max_depth), FREE_FORM) == []
    assert json_errors({"x": "y" * (FREE_FORM.max_bytes - 10)}, FREE_FORM) == []


def test_free_form_json_larger_than_the_limit_is_refused() -> None:
    errors = json_errors({"x": "y" * FREE_FORM.max_bytes}, FREE_FORM)
    assert [(e.field, e.code) for e in errors] == [("", "too_large")]
    assert json_errors({"x": "y" * 2000}, ADDRESS_METADATA)[0].code == "too_large"


@pytest.mark.parametrize(
    "moment",
    [
        datetime.fromisoformat("0001-01-01T00:00:00+14:00"),
        datetime.fromisoformat("9999-12-31T23:59:59-14:00"),
        datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2200, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1),
    ],
)
def test_extreme_moments_are_refused_not_overflowed(moment: datetime) -> None:
    with pytest.raises(ValueError, match="from 1900 to 2199"):
        bounded_moment(moment)


def test_a_naive_moment_is_utc() -> None:
    assert bounded_moment(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)


def test_the_day_of_a_moment_near_the_calendar_edge_is_an_error_not_an_overflow() -> None:
    with pytest.raises(ValueError, match="from 1900 to 2199"):
        day_in_utc(datetime.fromisoformat("0001-01-01T00:00:00+14:00"))


def test_nfc_nfd_and_letter_case_of_one_email_are_one_email() -> None:
    composed = unicodedata.normalize("NFC", "Zoë.Ångström@Exämple.com")
    decomposed = nfd(composed.lower())
    assert composed != decomposed
    assert (
        normalize_email(composed)
        == normalize_email(decomposed)
        == normalize_email(composed.upper())
    )
    assert email_key(composed) == email_key(decomposed)


def test_ascii_emails_keep_their_claim_keys() -> None:
    """Only emails outside ASCII need re-keying (readmodel.rekey_claims)."""
    assert email_key(" Jane.Doe@Example.COM ") == legacy_email_key(" Jane.Doe@Example.COM ")
    assert email_key(nfd("zoë@example.com")) != legacy_email_key(nfd("zoë@example.com"))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (nested(300), "rules.0.value"),
        ({"a": 1}, "rules.0.value"),
        ([1, [2]], "rules.0.value.1"),
        ("ACT\x00IVE", "rules.0.value"),
        (float("inf"), "rules.0.value"),
        (["ok", "x" * 300], "rules.0.value.1"),
        (list(range(1001)), "rules.0.value"),
    ],
)
def test_segment_rule_values_that_cannot_be_kept_are_refused(value: object, field: str) -> None:
    errors = rule_errors([Rule("status", "in", value)], None)
    assert field in [e.field for e in errors]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T00:00:00Z"])
def test_segment_rules_refuse_extreme_moments(value: str) -> None:
    errors = rule_errors([Rule("created_at", "gt", value)], None)
    assert [e.field for e in errors] == ["rules.0.value"]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_any_forged_cursor_is_a_bad_cursor(cursor: str) -> None:
    for sort in ("created_at", "name", "member"):
        with pytest.raises(BadCursor):
            decode_cursor(cursor, sort)


def test_an_empty_city_and_a_bad_postal_code_are_both_reported() -> None:
    fields = {
        "address_line_1": "1 Main St",
        "city": "",
        "state_province": "NY",
        "postal_code": "ABC",
        "country_code": "US",
    }

    errors = country_rule_errors(fields, refused=frozenset({"city"}))

    assert [(e.field, e.code) for e in errors] == [("postal_code", "address_invalid")]
    assert country_rule_errors({**fields, "country_code": "USA"}, frozenset()) == []
