"""Loops that wait between rounds, and stop at once when told."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

from observability.logging import get_logger

log = get_logger(__name__)

# What a round that uses the database may meet and survive: the next round retries.
DATABASE_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def repeat(
    stop: asyncio.Event, seconds: float, round_: Callable[[], Awaitable[None]], failed: str
) -> None:
    """Run ``round_`` every ``seconds`` until ``stop``; a database failure is
    logged as ``failed`` and the next round tries again."""
    while not stop.is_set():
        try:
            await round_()
        except DATABASE_FAILURES as exc:
            log.warning(failed, error=type(exc).__name__)
        except Exception:
            # A bug or a surprise: logged with its traceback, and the loop goes on
            # (one bad round must not silently end this part of the worker).
            log.exception(failed)
        await pause(stop, seconds)
