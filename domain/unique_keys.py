"""Values that at most one live customer may hold: its email and its legacy id.

Each such value is claimed under a key derived from its normalized form. The
key is a hash, so claims, actor ids and logs never carry the address itself.
"""

from __future__ import annotations

import hashlib
import unicodedata

from domain.model import Customer

EMAIL = "email"
LEGACY_ID = "legacy"


def normalize_email(email: str) -> str:
    """Emails are stored as given and compared in this form: Unicode NFC of the
    case-folded text (Unicode's canonical caseless match), so that NFC and NFD
    spellings and every letter case of one address are one address.

    Used alike by uniqueness claims, the login look-up and the read model's
    email filter. Claims made under the older form (``strip().lower()``) are
    re-keyed by ``python -m readmodel.rekey_claims``.
    """
    decomposed = unicodedata.normalize("NFD", email.strip())
    return unicodedata.normalize("NFC", decomposed.casefold())


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
