"""The watchdog that ends an API worker whose event loop is stuck."""

from __future__ import annotations

import asyncio
import threading
import time

from service.workers import LoopWatchdog


async def test_a_loop_that_keeps_running_is_left_alone_and_a_stuck_one_is_reported() -> None:
    stalled = threading.Event()
    silences: list[float] = []

    def on_stall(silent: float) -> None:
        silences.append(silent)
        stalled.set()

    LoopWatchdog(asyncio.get_running_loop(), 0.4, on_stall).start()
    # Awaiting lets the loop run: no stall however long it goes on.
    await asyncio.sleep(1.0)
    assert not stalled.is_set()

    # Blocks the loop, as a runaway CPU-bound call would.
    time.sleep(1.0)  # noqa: ASYNC251
    assert stalled.wait(timeout=2)
    assert len(silences) == 1
    assert silences[0] > 0.4
