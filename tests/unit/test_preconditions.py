"""If-Match parsing and ids derived from Idempotency-Key."""

from __future__ import annotations

import uuid

import pytest

from service.preconditions import _if_match, address_id_for, customer_id_for
from service.problems import Problem


@pytest.mark.parametrize(
    ("header", "versions"),
    [(None, None), ("*", None), ('"3"', (3,)), ('"3", "4"', (3, 4)), ('W/"3"', ())],
)
async def test_if_match_lists_the_accepted_versions(
    header: str | None, versions: tuple[int, ...] | None
) -> None:
    assert await _if_match(header) == versions


@pytest.mark.parametrize("header", ["3", '"abc"', '"3'])
async def test_a_malformed_if_match_is_refused(header: str) -> None:
    with pytest.raises(Problem) as refused:
        await _if_match(header)
    assert refused.value.status == 400


def test_an_idempotency_key_always_names_the_same_resource() -> None:
    assert customer_id_for("k1") == customer_id_for("k1") != customer_id_for("k2")
    customer = str(uuid.uuid4())
    assert address_id_for(customer, "k1") == address_id_for(customer, "k1")
    assert address_id_for(customer, "k1") != address_id_for(str(uuid.uuid4()), "k1")
    assert customer_id_for(None) != customer_id_for(None)
