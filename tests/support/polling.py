"""Waiting for something that happens asynchronously: polls with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], within: float = 15, what: str = "the condition"
) -> T:
    """``check()``'s first non-None answer; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come true within {within:.0f} s")
        await asyncio.sleep(0.1)
