"""Throttles as the sign-in flows meet them: 429 and 423 answers, delivery caps.

An answer is the same for an email that belongs to a customer and for one that
does not: each counter is keyed by the email's hash either way, and counted
before anything looks the email up. These cheap checks come before any bcrypt.
The rules are domain/throttles.py's; the counters live in Postgres.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from accounts.throttle_store import ThrottleStore
from domain.throttles import (
    Action,
    Delivery,
    Guarded,
    ThrottlePolicy,
    account_key,
    address_key,
    delivery_allowed,
    delivery_key,
    lock_key,
    locked,
    locks_now,
    over_limit,
)
from domain.timestamps import timestamp
from observability.metrics import THROTTLED
from service.problems import Problem


def too_many(retry_after: int) -> Problem:
    return Problem(
        429,
        "too-many-requests",
        "Too many attempts",
        "too many attempts; try again later",
        headers={"Retry-After": str(retry_after)},
    )


def locked_out(retry_after: int) -> Problem:
    """The same answer whatever the password, and whether or not the account exists."""
    return Problem(
        423,
        "locked",
        "Account temporarily locked",
        "too many failed attempts",
        headers={"Retry-After": str(retry_after)},
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Lock:
    """A lock that holds: for how long, and whether the failure just counted started it."""

    seconds: int
    started: bool


class Throttles:
    def __init__(self, store: ThrottleStore, policy: ThrottlePolicy) -> None:
        self._store = store
        self.policy = policy

    async def attempt(self, action: Action, address: str, account: str) -> None:
        """Count one attempt of ``action`` from ``address`` at ``account``; 429 if
        either is over its limit (the longer wait is answered)."""
        limit = self.policy.limits[action]
        allowed = {
            address_key(action, address): limit.per_address,
            account_key(action, account): limit.per_account,
        }
        counters, now = await self._store.hit(list(allowed), self.policy.window)
        waits = [
            wait
            for key, most in allowed.items()
            if (wait := over_limit(counters[key], most, now)) is not None
        ]
        if waits:
            THROTTLED.labels(str(action)).inc()
            raise too_many(max(waits))

    async def refuse_if_locked(self, guarded: Guarded, subject: str) -> None:
        counter, now = await self._store.read(lock_key(guarded, subject))
        if (wait := locked(counter, self.policy.lockout, now)) is not None:
            THROTTLED.labels(f"lock:{guarded}").inc()
            raise locked_out(wait)

    async def standing(self, guarded: Guarded, subject: str) -> dict[str, Any]:
        """The failures counted in the current window, and the lock they hold, if any."""
        counter, now = await self._store.read(lock_key(guarded, subject))
        current = counter is not None and counter.resets_at > now
        held = locked(counter, self.policy.lockout, now) is not None
        return {
            "recent_failures": counter.hits if counter is not None and current else 0,
            "locked_until": timestamp(counter.resets_at) if counter is not None and held else None,
        }

    async def failed(self, guarded: Guarded, subject: str) -> Lock | None:
        """Count a failure: the lock it starts (a whole window from now) or that
        holds already, or None."""
        key, lockout = lock_key(guarded, subject), self.policy.lockout
        counters, now = await self._store.hit([key], lockout.window)
        counter = counters[key]
        if locks_now(counter, lockout):
            await self._store.extend(key, lockout.window)
            THROTTLED.labels(f"lock:{guarded}").inc()
            return Lock(int(lockout.window.total_seconds()), started=True)
        seconds = locked(counter, lockout, now)
        return None if seconds is None else Lock(seconds, started=False)

    async def succeeded(self, guarded: Guarded, subject: str) -> None:
        await self._store.clear(lock_key(guarded, subject))

    async def may_deliver(self, delivery: Delivery, subject: str) -> bool:
        """Count one delivery to ``subject``; whether it is within the hour's cap."""
        key = delivery_key(delivery, subject)
        counters, _ = await self._store.hit([key], self.policy.delivery_window)
        return delivery_allowed(counters[key], self.policy)
