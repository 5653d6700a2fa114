"""The sessions that ended lately, in the memory of every API process.

A session ends in Postgres (accounts/session_store.py), which notifies
``customer_sessions_ended`` in the same transaction. Every API process listens
and remembers each ended session until no access token of it can still be
valid (the access tokens' lifetime after the end), so the authenticator
refuses a token of an ended session in O(1): at once in the process that ended
it, as soon as the notification arrives (milliseconds) in the others. When the
listening connection drops, it reconnects and reloads what ended meanwhile;
every ``resync`` it reloads anyway, which also proves the connection alive.

While it is not listening (at start-up, or after the connection dropped and
until it reloaded), what ended meanwhile is unknown: ``current`` is False and
a customer's token is answered 503 (retry) rather than trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

import asyncpg

from accounts.session_store import CHANNEL, ended_since
from observability.logging import get_logger

log = get_logger(__name__)

_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class EndedSessions:
    """Session ids that ended within ``keep``, each with when it ended."""

    def __init__(self, keep: timedelta, clock: Callable[[], float] = time.time) -> None:
        self.keep = keep
        self._keep = keep.total_seconds()
        self._clock = clock
        self._ended: dict[str, float] = {}
        # True while the feed listens and has loaded what ended before.
        self.current = False

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._ended

    def __len__(self) -> int:
        return len(self._ended)

    def add(self, session_ids: Iterable[str], at: float | None = None) -> None:
        now = self._clock()
        for session_id in session_ids:
            self._ended.setdefault(session_id, now if at is None else at)
        self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget what ended before any token of it could still be valid (oldest first)."""
        horizon = now - self._keep
        while self._ended:
            oldest = next(iter(self._ended))
            if self._ended[oldest] >= horizon:
                return
            del self._ended[oldest]


class EndedSessionsFeed:
    """Keeps an ``EndedSessions`` up to date from Postgres, until stopped."""

    def __init__(
        self, dsn: str, ended: EndedSessions, keep: timedelta, resync: float = 30.0
    ) -> None:
        self._dsn = dsn
        self._ended = ended
        self._keep = keep
        self._resync = resync
        self.listening = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._known = asyncio.Event()  # set once, when first current

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(self._stop))

    async def wait_current(self, within: float) -> bool:
        """Wait (up to ``within`` seconds) until the ended sessions are known."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._known.wait(), within)
        return self._ended.current

    def _set_current(self, current: bool) -> None:
        self._ended.current = current
        if current:
            self._known.set()

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._listen(stop)
            except _FAILURES as exc:
                log.warning("listening for ended sessions failed", error=type(exc).__name__)
            self.listening = False
            self._set_current(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=5)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.listening = True
            while not (stop.is_set() or lost.is_set()):
                # After LISTEN: whatever ended before it is loaded here.
                for session_id, ended_at in await ended_since(conn, self._keep):
                    self._ended.add([session_id], at=ended_at)
                self._set_current(True)
                await _first(stop, lost, self._resync)
        finally:
            self._set_current(False)
            with contextlib.suppress(*_FAILURES):
                await conn.close(timeout=2)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self._ended.add(part for part in str(payload).split(",") if part)


async def _first(stop: asyncio.Event, lost: asyncio.Event, seconds: float) -> None:
    """Wait until either event is set, or ``seconds`` pass."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
