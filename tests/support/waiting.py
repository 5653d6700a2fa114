"""Waiting for what happens a little later (the read model lags the actors)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 15) -> T:
    """The first non-None result of ``check``, polled until ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came within {within} s")
        await asyncio.sleep(0.1)
