"""The projector: one customer event in, one outcome out.

It checks that the event is this service's own (its signature), applies the
snapshot to the read model in one transaction (higher version wins), and
announces segment membership changes inside that transaction, so that a
failed announcement rolls the projection back and the redelivery tries again.
What it cannot apply, whatever the retries, is a dead letter with a reason;
what a later attempt may apply (the database was down) is a retry.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from domain.events import WITHOUT_SNAPSHOT
from domain.groups import GROUP_DELETED, GROUP_EVENT_TYPES
from domain.wishlists import WISHLIST_EVENT_TYPES
from observability.metrics import EVENTS_RECEIVED, OUTBOX_LAG, PROJECTED, PROJECTION_LAG
from readmodel.projection import (
    Advance,
    MalformedSnapshot,
    MembershipChange,
    SegmentCache,
    advance_version,
    apply_snapshot,
)
from security import event_signature
from security.macs import MacKeyring

SEGMENTS_CHANGED = "customer.segments.changed"
# Derived events of this service that carry nothing to project.
# Wishlists are not in the read model: their events are for other services.
NOT_PROJECTED = frozenset({SEGMENTS_CHANGED, *WISHLIST_EVENT_TYPES})

# (customer id, version, added segment ids, removed segment ids) -> published
Announce = Callable[[str, int, list[str], list[str]], Awaitable[None]]


class Verdict(enum.Enum):
    APPLIED = "applied"
    STALE = "stale"  # a duplicate or an older version: nothing to do
    IGNORED = "ignored"  # an event type that changes no projection
    RETRY = "retry"  # a later delivery may succeed
    DEAD_LETTER = "dead_letter"  # no delivery ever will


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """A delivered CloudEvent: its type and its ``data``, parsed or raw."""

    type: str
    data: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    customer_id: str
    version: int
    occurred_at: datetime
    snapshot: dict[str, Any] | None  # None: the event changed nothing of it


def parse(event_type: str, data: object) -> Parsed:
    """What the projection needs of a customer event; ValueError if malformed."""
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    occurred_at = datetime.fromisoformat(str(data["occurred_at"]))
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at has no time zone")
    customer_id, version = data["customer_id"], data["version"]
    if not isinstance(customer_id, str) or type(version) is not int or version < 1:
        raise ValueError("the customer id or the version is not one")
    snapshot = data.get("snapshot")
    if snapshot is None and event_type not in WITHOUT_SNAPSHOT:
        raise ValueError(f"a {event_type} event carries a snapshot")
    if snapshot is not None and (
        not isinstance(snapshot, dict)
        or snapshot.get("id") != customer_id
        or snapshot.get("version") != version
    ):
        raise ValueError("the snapshot is not the event's customer")
    return Parsed(customer_id, version, occurred_at, snapshot)


class Projector:
    def __init__(
        self,
        pool: asyncpg.Pool,
        event_keys: MacKeyring,
        announce: Announce,
        segments: SegmentCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        evaluate_segments: bool = True,
    ) -> None:
        self._pool = pool
        self._event_keys = event_keys
        self._announce = announce
        self._segments = segments or SegmentCache()
        # CUSTOMER_ENABLE_SEGMENTS=false: memberships are left as they are.
        self._evaluate_segments = evaluate_segments
        self._clock = clock
        self.lags = RecentMaximum()

    async def handle(self, event: Event) -> Outcome:
        if event.type in NOT_PROJECTED:
            return Outcome(Verdict.IGNORED)
        # Only what this service signed may touch the read model.
        if not event_signature.is_authentic(self._event_keys, event.type, event.data):
            return Outcome(Verdict.DEAD_LETTER, "unauthenticated: the event signature is wrong")
        if event.type in GROUP_EVENT_TYPES:
            return await self._group(event.type, event.data)
        try:
            parsed = parse(event.type, event.data)
        except (ValueError, KeyError, TypeError) as exc:
            return Outcome(Verdict.DEAD_LETTER, f"malformed: {exc}")
        occurred_at = parsed.occurred_at
        EVENTS_RECEIVED.labels(event.type).inc()
        OUTBOX_LAG.observe(self._seconds_since(occurred_at))
        try:
            if parsed.snapshot is None:
                change = await self._advance(parsed)
            else:
                change = await self._project(parsed.snapshot)
        except MalformedSnapshot as exc:
            return Outcome(Verdict.DEAD_LETTER, str(exc))
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            # The values themselves are impossible here: no redelivery can help.
            return Outcome(Verdict.DEAD_LETTER, type(exc).__name__)
        except PredecessorMissing as exc:
            return Outcome(Verdict.RETRY, f"early: {exc}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ProjectionRetry) as exc:
            return Outcome(Verdict.RETRY, type(exc).__name__)
        if change is None:
            PROJECTED.labels("stale").inc()
            return Outcome(Verdict.STALE)
        PROJECTED.labels("applied").inc()
        lag = self._seconds_since(occurred_at)
        PROJECTION_LAG.observe(lag)
        self.lags.record(lag)
        return Outcome(Verdict.APPLIED)

    async def project(self, snapshot: dict[str, Any]) -> MembershipChange | None:
        """Apply a snapshot known to be this service's (the reconciler's repairs)."""
        return await self._project(snapshot)

    async def _project(self, snapshot: dict[str, Any]) -> MembershipChange | None:
        async with self._pool.acquire() as conn, conn.transaction():
            segments = await self._segments.get(conn) if self._evaluate_segments else None
            change = await apply_snapshot(conn, snapshot, segments)
            if change is not None and (change.added or change.removed):
                try:
                    await self._announce(
                        snapshot["id"], snapshot["version"], sorted(change.added), change.removed
                    )
                except Exception as exc:
                    raise ProjectionRetry(type(exc).__name__) from exc
            return change

    async def _advance(self, parsed: Parsed) -> MembershipChange | None:
        """An event without a snapshot: the row moves to its version only from the
        one before (nothing else changed). Further behind, an earlier change is
        still on its way: the event is retried (here, then by Dapr's redelivery)
        until that change is projected, or the reconciler has brought the row up
        to the stored version (the event is then stale)."""
        async with self._pool.acquire() as conn:
            done = await advance_version(
                conn, parsed.customer_id, parsed.version, parsed.occurred_at
            )
        if done is Advance.EARLY:
            raise PredecessorMissing(f"version {parsed.version - 1} is not projected yet")
        return MembershipChange(added={}, removed=[]) if done is Advance.MOVED else None

    async def _group(self, event_type: str, data: dict[str, Any]) -> Outcome:
        """A customer group made, changed or deleted: the read model's list of groups
        follows, by the group's version (an older event changes nothing; a deleted
        group's tombstone keeps a late event from bringing it back)."""
        group_id, version = data.get("group_id"), data.get("version")
        if not isinstance(group_id, str) or not group_id:
            return Outcome(Verdict.DEAD_LETTER, "malformed: no group_id")
        if type(version) is not int or version < 1:
            return Outcome(Verdict.DEAD_LETTER, "malformed: no version")
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                # One group's events one at a time: a delete and a late update of it
                # must not each miss what the other writes.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('customer_group:' || $1))", group_id
                )
                if event_type == GROUP_DELETED:
                    written = await conn.fetchval(
                        "INSERT INTO customer_group_tombstones AS t (id, version) "
                        "VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET version = "
                        "EXCLUDED.version WHERE t.version < EXCLUDED.version RETURNING true",
                        group_id,
                        version,
                    )
                    await conn.execute(
                        "DELETE FROM customer_groups WHERE id = $1 AND version < $2",
                        group_id,
                        version,
                    )
                else:
                    written = await conn.fetchval(
                        "INSERT INTO customer_groups AS g (id, version, updated_at) "
                        "SELECT $1::varchar, $2::integer, now() WHERE NOT EXISTS "
                        "(SELECT 1 FROM customer_group_tombstones WHERE id = $1) "
                        "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, "
                        "updated_at = now() WHERE g.version < EXCLUDED.version RETURNING true",
                        group_id,
                        version,
                    )
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            return Outcome(Verdict.DEAD_LETTER, type(exc).__name__)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return Outcome(Verdict.RETRY, type(exc).__name__)
        return Outcome(Verdict.APPLIED if written else Verdict.STALE)

    def _seconds_since(self, moment: datetime) -> float:
        return max(0.0, (self._clock() - moment).total_seconds())


class RecentMaximum:
    """The largest value recorded within the last ``window`` seconds."""

    def __init__(self, window: float = 60.0) -> None:
        self._window = window
        self._values: collections.deque[tuple[float, float]] = collections.deque()

    def record(self, value: float) -> None:
        now = time.monotonic()
        self._forget_before(now - self._window)
        self._values.append((now, value))

    def value(self) -> float | None:
        self._forget_before(time.monotonic() - self._window)
        return max((value for _, value in self._values), default=None)

    def _forget_before(self, horizon: float) -> None:
        while self._values and self._values[0][0] < horizon:
            self._values.popleft()


class ProjectionRetry(Exception):
    """Something outside the database failed inside the projection's transaction."""


class PredecessorMissing(ProjectionRetry):
    """An event without a snapshot came before the change it follows."""


# What no retry can change: the snapshot cannot be projected as it is.
PERMANENT = (MalformedSnapshot, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def decode(raw: bytes) -> object:
    """A delivered ``data`` payload; malformed JSON becomes a string the checks refuse."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode(errors="replace")
