"""Rules that come from configuration, handed to every decision."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

MAX_ADDRESSES = 100
MAX_WISHLISTS = 20
MAX_WISHLIST_ITEMS = 500
# daprd refuses a request body over 4 MiB (its --max-body-size), and a wishlist
# change is one state transaction: the whole wishlists document plus the event,
# which carries one wishlist. The document and its largest wishlist together
# stay within this (JSON as the store is sent it), leaving 1 MiB for the
# transaction's envelope, the event's changes, signature and metadata.
MAX_WISHLISTS_BYTES = 3 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    # Seed P2: the groups were hard-coded; here the operator lists them.
    customer_groups: frozenset[str] = frozenset()
    default_customer_group: str | None = None
    max_addresses: int = MAX_ADDRESSES
    # Per customer, and per wishlist (domain/wishlists.py).
    max_wishlists: int = MAX_WISHLISTS
    max_wishlist_items: int = MAX_WISHLIST_ITEMS
    max_wishlists_bytes: int = MAX_WISHLISTS_BYTES
    # Sign-in: failures are counted outside the document (domain/throttles.py).
    challenge_ttl: timedelta = timedelta(minutes=5)
    challenge_max_failures: int = 5
    # Also the life of the token that confirms a new email.
    email_verification_ttl: timedelta = timedelta(hours=24)
    password_reset_ttl: timedelta = timedelta(hours=1)
    # Data protection: an erasure asked for waits this long (it can be cancelled
    # meanwhile); a soft-deleted customer is erased this long after its deletion.
    erasure_grace: timedelta = timedelta(days=30)
    deleted_retention: timedelta = timedelta(days=90)
