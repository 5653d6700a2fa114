"""Rules that come from configuration, handed to every decision."""

from __future__ import annotations

import dataclasses

MAX_ADDRESSES = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    # Seed P2: the groups were hard-coded; here the operator lists them.
    customer_groups: frozenset[str] = frozenset()
    default_customer_group: str | None = None
    max_addresses: int = MAX_ADDRESSES
