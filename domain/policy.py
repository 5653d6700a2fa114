"""Rules that come from configuration, handed to every decision."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

MAX_ADDRESSES = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    # Seed P2: the groups were hard-coded; here the operator lists them.
    customer_groups: frozenset[str] = frozenset()
    default_customer_group: str | None = None
    max_addresses: int = MAX_ADDRESSES
    # Sign-in: after this many failures in a row the account locks, for a
    # period that doubles with each lockout up to the maximum.
    lockout_threshold: int = 5
    lockout_base: timedelta = timedelta(minutes=1)
    lockout_max: timedelta = timedelta(hours=1)
    challenge_ttl: timedelta = timedelta(minutes=5)
    challenge_max_failures: int = 5
    email_verification_ttl: timedelta = timedelta(hours=24)
    password_reset_ttl: timedelta = timedelta(hours=1)
