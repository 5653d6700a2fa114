"""Throttles: what windowed counters allow, decided on the numbers alone.

Every throttle is a counter of hits in a fixed window, kept under a key that is
a hash (never an address or an email in clear) and shared by every replica:

- **rate limits** of the sign-in steps (login, register, password reset, the
  second factor), per client address and per account: more hits than the
  limit in the window get 429 until it resets;
- **lockouts**: sign-in failures of one email (known or not, counted alike) or
  step-up failures of one account; the failure that reaches the threshold
  locks for a whole window from it, and a success clears the count;
- **deliveries**: tokens sent to one email (or account) per hour; over the
  limit nothing more is sent, and the answer does not change.

The counting itself is one atomic statement of the store (accounts/throttle_store.py).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
from datetime import datetime, timedelta


class Action(enum.StrEnum):
    """A sign-in step whose attempts are rate-limited."""

    LOGIN = "login"
    REGISTER = "register"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an action's name
    SECOND_FACTOR = "second_factor"


class Guarded(enum.StrEnum):
    """What a lockout guards: a sign-in by email, or a step-up of a signed-in account."""

    SIGN_IN = "sign_in"
    STEP_UP = "step_up"


class Delivery(enum.StrEnum):
    """Messages whose number per hour is capped, per email or account."""

    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of message
    EMAIL_VERIFICATION = "email_verification"
    REGISTRATION_ATTEMPT = "registration_attempt"


@dataclasses.dataclass(frozen=True, slots=True)
class Counter:
    hits: int
    resets_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Limit:
    """Attempts allowed per window from one client address, and at one account."""

    per_address: int
    per_account: int


@dataclasses.dataclass(frozen=True, slots=True)
class Lockout:
    """``threshold`` failures within ``window`` lock for ``window`` from the last."""

    threshold: int = 5
    window: timedelta = timedelta(minutes=15)


DEFAULT_LIMITS = {
    Action.LOGIN: Limit(20, 10),
    Action.REGISTER: Limit(10, 3),
    Action.PASSWORD_RESET: Limit(10, 5),
    Action.SECOND_FACTOR: Limit(20, 10),
}


@dataclasses.dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    limits: dict[Action, Limit] = dataclasses.field(default_factory=lambda: dict(DEFAULT_LIMITS))
    window: timedelta = timedelta(minutes=1)
    lockout: Lockout = Lockout()
    deliveries_per_hour: int = 3
    delivery_window: timedelta = timedelta(hours=1)


def seconds_until(moment: datetime, now: datetime) -> int:
    """A Retry-After: whole seconds, at least one."""
    return max(1, math.ceil((moment - now).total_seconds()))


def over_limit(counter: Counter, allowed: int, now: datetime) -> int | None:
    """Seconds until ``counter`` is within ``allowed`` again, or None if it is."""
    if counter.hits <= allowed or counter.resets_at <= now:
        return None
    return seconds_until(counter.resets_at, now)


def locked(counter: Counter | None, lockout: Lockout, now: datetime) -> int | None:
    """Seconds until the lock ends, or None: not locked."""
    if counter is None or counter.hits < lockout.threshold or counter.resets_at <= now:
        return None
    return seconds_until(counter.resets_at, now)


def locks_now(counter: Counter, lockout: Lockout) -> bool:
    """Is this failure the one that locks (its lock then lasts a window from now)?"""
    return counter.hits == lockout.threshold


def delivery_allowed(counter: Counter, policy: ThrottlePolicy) -> bool:
    return counter.hits <= policy.deliveries_per_hour


# -- keys: hashes of what is counted ------------------------------------------------------


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def address_key(action: Action, address: str) -> str:
    return f"rate:{action}:address:{_hashed(address)}"


def account_key(action: Action, account: str) -> str:
    """``account``: an email's key (domain.unique_keys) or a customer id."""
    return f"rate:{action}:account:{_hashed(account)}"


def lock_key(guarded: Guarded, subject: str) -> str:
    return f"lock:{guarded}:{_hashed(subject)}"


def delivery_key(delivery: Delivery, subject: str) -> str:
    return f"delivery:{delivery}:{_hashed(subject)}"


def parse_limits(text: str) -> dict[Action, Limit]:
    """``"login=20/10, register=10/3"`` -> per action, (per address, per account);
    actions not named keep their defaults."""
    limits = dict(DEFAULT_LIMITS)
    named: set[Action] = set()
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        name, sep, counts = (piece.strip() for piece in entry.partition("="))
        per_address, slash, per_account = counts.partition("/")
        if not sep or not slash or not per_address.isdigit() or not per_account.isdigit():
            raise ValueError(f"{entry!r} is not action=per-address/per-account")
        try:
            action = Action(name)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise ValueError(f"{name!r} is not one of {known}") from None
        if action in named:
            raise ValueError(f"{name!r} is listed twice")
        if int(per_address) < 1 or int(per_account) < 1:
            raise ValueError(f"{name!r}: limits must be at least 1")
        named.add(action)
        limits[action] = Limit(int(per_address), int(per_account))
    return limits
