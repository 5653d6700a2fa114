"""Running one phase: clients issue requests for a while; latencies, errors and CPU."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import aiohttp

from bench.cpu import CpuSampler
from bench.stats import PhaseResult

Request = Callable[[aiohttp.ClientSession, int], Awaitable[bool]]


async def run_phase(
    name: str, session: aiohttp.ClientSession, request: Request, duration: float, clients: int
) -> PhaseResult:
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok = await request(session, next(counter))
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    sampler = CpuSampler()
    sampler.start()
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return PhaseResult(name, latencies, errors, elapsed, sampler.stop())
