"""Drive the service with concurrent clients and report p50/p95/p99 and req/s.

    python -m bench                       # starts a throwaway stack of its own
    python -m bench --url http://localhost:8003   # the stack `make run` serves

Phases, --duration seconds each: create customers (POST /api/v1/customers),
read them back (GET /api/v1/customers/{id}), add addresses to random customers
(POST .../addresses), and list a customer's addresses (GET .../addresses). Numbers
are end to end through the sidecar, the actor and Postgres. The load
generator shares the machine with everything it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.stats import PhaseResult, Seed, report
from service.schemas import ADDRESS_EXAMPLE, CREATE_EXAMPLE

SEED_FIGURES = {
    "create customer": Seed(p95_ms=120, throughput=200),
    "get customer": Seed(p95_ms=45, throughput=500),
    "create address": Seed(p95_ms=95, throughput=None),
    # The seed gives "address operations: <15 ms average", no P95 or rate.
    "list addresses": Seed(p95_ms=None, throughput=None),
}
ADDRESS = {k: v for k, v in ADDRESS_EXAMPLE.items() if k not in ("customer_id", "is_default")}


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

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return PhaseResult(name, latencies, errors, time.perf_counter() - started)


async def bench(url: str, duration: float, clients: int, warmup: float) -> str:
    created: list[str] = []
    run_id = f"{time.time_ns():x}"

    async def create(session: aiohttp.ClientSession, n: int) -> bool:
        # Phases restart their counters; the email must never repeat (one per customer).
        body = {**CREATE_EXAMPLE, "email": f"bench-{run_id}-{uuid.uuid4().hex}@example.com"}
        async with session.post(f"{url}/api/v1/customers", json=body) as response:
            if response.status != 201:
                return False
            created.append((await response.json())["customer"]["id"])
            return True

    async def get(session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(created)
        async with session.get(f"{url}/api/v1/customers/{customer_id}") as response:
            await response.read()
            return response.status == 200

    async def add_address(session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(created)
        path = f"{url}/api/v1/customers/{customer_id}/addresses"
        async with session.post(path, json=ADDRESS) as response:
            await response.read()
            return response.status == 201

    async def list_addresses(session: aiohttp.ClientSession, n: int) -> bool:
        customer_id = random.choice(created)
        async with session.get(f"{url}/api/v1/customers/{customer_id}/addresses") as response:
            await response.read()
            return response.status == 200

    connector = aiohttp.TCPConnector(limit=clients * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await run_phase("warm-up", session, create, warmup, clients)
        results = [
            await run_phase("create customer", session, create, duration, clients),
            await run_phase("get customer", session, get, duration, clients),
            await run_phase("create address", session, add_address, duration, clients),
            await run_phase("list addresses", session, list_addresses, duration, clients),
        ]
    return report(results, SEED_FIGURES, clients)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service; default: start a throwaway stack")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    args = parser.parse_args()

    if args.url:
        print(asyncio.run(bench(args.url.rstrip("/"), args.duration, args.clients, args.warmup)))
        return 0

    from devstack.stack import (
        CUSTOMER_PORT_VARIABLES,
        customer_service_command,
        customer_service_env,
        start_app,
        start_infrastructure,
    )

    root = Path(tempfile.mkdtemp(prefix="customer-service-bench-"))
    print(f"bench: starting a throwaway stack (logs in {root}/logs)", file=sys.stderr)
    infra = start_infrastructure(root)
    try:
        app = start_app(
            "customer-service",
            customer_service_command(),
            infra,
            root,
            env={**customer_service_env(infra), "CUSTOMER_LOG_LEVEL": "warning"},
            port_variables=CUSTOMER_PORT_VARIABLES,
        )
        try:
            print(asyncio.run(bench(app.app_url, args.duration, args.clients, args.warmup)))
        finally:
            app.stop()
    finally:
        infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
