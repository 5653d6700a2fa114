"""Request headers that make writes safe to race and to retry."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Depends, Header

from service.input_types import SafeText
from service.problems import Problem

_STRONG_TAG = re.compile(r'"(\d+)"')
# Namespaces for ids derived from an Idempotency-Key: a retry lands on the same id.
_CUSTOMER_IDS = uuid.UUID("6f1c7a52-1d8e-4b8e-9c1a-3e0f4d2b7a10")


async def _if_match(
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=200)] = None,
) -> tuple[int, ...] | None:
    """The versions ``If-Match`` accepts; None when absent or ``*``.

    ETags here are strong (``"3"``); a weak tag never matches (RFC 9110 13.1.1).
    """
    if if_match is None or if_match.strip() == "*":
        return None
    versions: list[int] = []
    for tag in (part.strip() for part in if_match.split(",")):
        if tag.startswith("W/"):
            continue
        match = _STRONG_TAG.fullmatch(tag)
        if match is None:
            raise Problem(
                400,
                "bad-if-match",
                "If-Match is malformed",
                'If-Match takes entity tags as sent in ETag, e.g. "3"',
            )
        versions.append(int(match.group(1)))
    return tuple(versions)


IfMatch = Annotated[tuple[int, ...] | None, Depends(_if_match)]
IdempotencyKey = Annotated[
    SafeText | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]


def customer_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_CUSTOMER_IDS, idempotency_key))


def address_id_for(customer_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.UUID(customer_id), idempotency_key))


def child_id_for(parent_id: str, idempotency_key: str | None) -> str:
    """A new id under ``parent_id`` (a wishlist of a customer, an item of a
    wishlist): derived from the Idempotency-Key, so a retry lands on it."""
    return address_id_for(parent_id, idempotency_key)
