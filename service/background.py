"""Work a request starts and does not wait for.

A sign-in answer must not show whether the email belongs to a customer, so
what happens only for a customer (registering, sending a reset token, telling
the owner of an address that someone tried to register with it) runs after
the answer, in a task of this process. Its failures are logged (no address, no
token) and cannot change the answer; at shutdown, running tasks get a moment
to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from observability.logging import get_logger

log = get_logger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, work: Coroutine[Any, Any, None], what: str) -> None:
        task = asyncio.create_task(self._guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception as exc:
            log.warning(f"{what} failed", error=type(exc).__name__)

    async def drain(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the running tasks."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)
