"""Time-based one-time passwords (RFC 6238) through pyotp: 6 digits, 30 s.

``matching_step`` says which time step a code belongs to (current, one before
or one after, for clock drift); remembering the last step used is what makes
a code single-use.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits, base32 (RFC 4226's recommended HMAC-SHA1 key size)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` is valid for, within the drift window, or None."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(current + offset), code):
            return current + offset
    return None
