"""Values that at most one live customer may hold: its email and its legacy id.

Each such value is claimed under a key derived from its normalized form. The
key is a hash, so claims, actor ids and logs never carry the address itself.
"""

from __future__ import annotations

import hashlib

from domain.model import Customer

EMAIL = "email"
LEGACY_ID = "legacy"


def normalize_email(email: str) -> str:
    """Emails are stored as given and compared lower-cased."""
    return email.strip().lower()


def _key(kind: str, value: str) -> str:
    return f"{kind}-{hashlib.sha256(value.encode()).hexdigest()}"


def email_key(email: str) -> str:
    return _key(EMAIL, normalize_email(email))


def legacy_id_key(legacy_id: str) -> str:
    return _key(LEGACY_ID, legacy_id)


def kind_of(key: str) -> str:
    return key.split("-", 1)[0]


def unique_keys(customer: Customer | None) -> frozenset[str]:
    """The keys a customer holds: none once deleted."""
    if customer is None or customer.deleted:
        return frozenset()
    keys = {email_key(customer.email)}
    if customer.legacy_id:
        keys.add(legacy_id_key(customer.legacy_id))
    return frozenset(keys)
