"""Request bodies for tests: the seed's example with a fresh email each time."""

from __future__ import annotations

import uuid
from typing import Any

from service.schemas import CREATE_EXAMPLE

SEED_CUSTOMER = CREATE_EXAMPLE


def unique_email(label: str = "customer") -> str:
    """One live customer per email: each test customer gets its own."""
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


def customer_body(**overrides: Any) -> dict[str, Any]:
    """The seed's create request with an email nobody else has."""
    return {**SEED_CUSTOMER, "email": unique_email(), **overrides}


# A shipping address the country rules accept as it is.
NEW_YORK_ADDRESS: dict[str, Any] = {
    "type": "SHIPPING",
    "address_line_1": "123 Main St",
    "city": "New York",
    "state_province": "NY",
    "postal_code": "10001",
    "country_code": "US",
}
