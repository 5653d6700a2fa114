"""Keyset cursors: they round-trip, and a foreign or forged one is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from readmodel.queries import BadCursor, decode_cursor, encode_cursor


def test_a_cursor_round_trips_its_sort_key_and_id() -> None:
    row_id = str(uuid.uuid4())
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor("created_at", at, row_id), "created_at") == (at, row_id)
    assert decode_cursor(encode_cursor("name", "müller anna", row_id), "name") == (
        "müller anna",
        row_id,
    )


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90LWpzb24", encode_cursor("x", "a", "nope")])
def test_garbage_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor, "created_at")


def test_a_cursor_of_another_sort_order_is_refused() -> None:
    cursor = encode_cursor("name", "a", str(uuid.uuid4()))
    with pytest.raises(BadCursor):
        decode_cursor(cursor, "created_at")
