"""diff(): the ``changes`` of an event, field by field."""

from __future__ import annotations

from domain.events import diff


def test_top_level_fields_and_bookkeeping() -> None:
    before = {"id": "c", "version": 1, "updated_at": "t1", "email": "a@x", "phone": None}
    after = {"id": "c", "version": 2, "updated_at": "t2", "email": "b@x", "phone": None}
    assert diff(before, after) == {"email": {"before": "a@x", "after": "b@x"}}


def test_nested_objects_are_compared_field_by_field() -> None:
    before = {"preferences": {"newsletter": False, "sms_marketing": False}}
    after = {"preferences": {"newsletter": True, "sms_marketing": False}}
    assert diff(before, after) == {"preferences.newsletter": {"before": False, "after": True}}


def test_lists_of_entries_are_compared_by_id() -> None:
    one = {"id": "a1", "city": "Albany", "updated_at": "t1"}
    two = {"id": "a2", "city": "Boston", "updated_at": "t1"}
    before = {"addresses": [one, two]}
    after = {"addresses": [{**one, "city": "Troy", "updated_at": "t2"}]}
    assert diff(before, after) == {
        "addresses.a1.city": {"before": "Albany", "after": "Troy"},
        "addresses.a2": {"before": two, "after": None},
    }


def test_everything_is_a_change_from_nothing() -> None:
    assert diff(None, {"id": "c", "email": "a@x", "addresses": []}) == {
        "addresses": {"before": None, "after": []},
        "email": {"before": None, "after": "a@x"},
    }
