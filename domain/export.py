"""What the service holds about a person, as the export shows it (data portability).

Pure: the parts read from the customer's document. What lives outside it
(sessions, lockouts, segment memberships) is added by service/export.py. No
secret leaves: no password hash, no token or challenge digest, no TOTP secret,
no recovery code; a pending token shows only until when it is valid.
"""

from __future__ import annotations

from typing import Any

from domain.credentials import Challenge, PendingToken
from domain.model import Customer, timestamp


def _pending(token: PendingToken | Challenge | None) -> dict[str, Any] | None:
    return None if token is None else {"expires_at": timestamp(token.expires_at)}


def personal_data(customer: Customer) -> dict[str, Any]:
    """Every part of the customer's document that is about the person."""
    preferences = customer.current_preferences().to_document()
    credentials = customer.credentials
    change = credentials.email_change
    totp = credentials.totp
    return {
        "profile": customer.profile(),
        "addresses": [customer.address_view(address) for address in customer.addresses],
        "preferences": {
            **preferences,
            "consent_history": [c.to_document() for c in customer.consent_history],
        },
        "orders": {
            **customer.orders.to_document(),
            "recorded_order_ids": list(customer.orders.recorded_order_ids),
        },
        "sign_in": {
            "has_password": credentials.password_hash is not None,
            "email_verified": customer.email_verified,
            "two_factor_enabled": customer.two_factor_enabled,
            "two_factor_enrollment_pending": totp is not None and not totp.enabled,
            "recovery_codes_left": 0 if totp is None else len(totp.recovery_digests),
            "last_login_at": timestamp(customer.last_login_at) if customer.last_login_at else None,
            "second_factor_pending": _pending(credentials.challenge),
            "email_verification_pending": _pending(credentials.email_verification),
            "password_reset_pending": _pending(credentials.password_reset),
            "email_change_pending": None
            if change is None
            else {"new_email": change.new_email, "expires_at": timestamp(change.expires_at)},
        },
    }
