"""Drive the service with concurrent clients and report p50/p95/p99 and req/s.

    python -m bench                       # starts a throwaway stack of its own
    python -m bench --url http://localhost:8003   # the stack `make run` serves

Phases, --duration seconds each: create customers (POST /api/v1/customers),
read them back (GET /api/v1/customers/{id}), add addresses to random customers
(POST .../addresses), list a customer's addresses (GET .../addresses); then,
over --list-customers synthetic customers in the read model (a throwaway stack
only), list newest first, page on with the cursor, filter, and search by name.
It also reports the projection lag (commit to read model) seen during the
create phase, and the time to evaluate one customer against 50 segments. Numbers
are end to end through the sidecar, the actor and Postgres. The load
generator shares the machine with everything it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.stats import PhaseResult, Seed, report
from readmodel.generate import generate
from readmodel.migrate import apply_migrations
from security.access_tokens import TokenIssuer
from service.schemas import ADDRESS_EXAMPLE, CREATE_EXAMPLE

SEED_FIGURES = {
    "create customer": Seed(p95_ms=120, throughput=200),
    "get customer": Seed(p95_ms=45, throughput=500),
    "create address": Seed(p95_ms=95, throughput=None),
    # The seed gives "address operations: <15 ms average", no P95 or rate.
    "list addresses": Seed(p95_ms=None, throughput=None),
    "list newest": Seed(p95_ms=78, throughput=None),
    "list next page": Seed(p95_ms=78, throughput=None),
    "list filtered": Seed(p95_ms=78, throughput=None),
    "search name": Seed(p95_ms=78, throughput=None),
}
SEARCH_TERMS = ["anna", "jose", "zoe", "garcia", "muller", "nguyen", "lefevre", "soren", "emma"]
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


async def bench(
    url: str,
    duration: float,
    clients: int,
    warmup: float,
    token: str,
    list_customers: int = 0,
    dsn: str | None = None,
) -> str:
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

    async def list_page(session: aiohttp.ClientSession, n: int) -> bool:
        async with session.get(f"{url}/api/v1/customers", params={"limit": "50"}) as response:
            await response.read()
            return response.status == 200

    cursors: list[str] = []

    async def next_page(session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "50"}
        if cursors:
            params["cursor"] = random.choice(cursors)
        async with session.get(f"{url}/api/v1/customers", params=params) as response:
            body = await response.json()
            if body.get("next_cursor") and len(cursors) < 1000:
                cursors.append(body["next_cursor"])
            return response.status == 200

    async def filtered(session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "50", "status": "SUSPENDED", "group": "vip"}
        async with session.get(f"{url}/api/v1/customers", params=params) as response:
            await response.read()
            return response.status == 200

    async def search(session: aiohttp.ClientSession, n: int) -> bool:
        params = {"limit": "20", "q": random.choice(SEARCH_TERMS)}
        async with session.get(f"{url}/api/v1/customers", params=params) as response:
            await response.read()
            return response.status == 200

    connector = aiohttp.TCPConnector(limit=clients * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    headers = {"authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        if warmup:
            await run_phase("warm-up", session, create, warmup, clients)
        results = [
            await run_phase("create customer", session, create, duration, clients),
            await run_phase("get customer", session, get, duration, clients),
            await run_phase("create address", session, add_address, duration, clients),
            await run_phase("list addresses", session, list_addresses, duration, clients),
        ]
        lag = await projection_lag(session, url)
        if list_customers and dsn:
            seconds = await generate(dsn, list_customers, seed=7)
            print(
                f"bench: {list_customers:,} synthetic customers in {seconds:.0f} s", file=sys.stderr
            )
            results += [
                await run_phase("list newest", session, list_page, duration, clients),
                await run_phase("list next page", session, next_page, duration, clients),
                await run_phase("list filtered", session, filtered, duration, clients),
                await run_phase("search name", session, search, duration, clients),
            ]
    extra = [f"projection lag during the create phase: {lag}", segment_evaluation()]
    if list_customers:
        extra.insert(0, f"read model: {list_customers:,} synthetic customers + those created above")
    return report(results, SEED_FIGURES, clients) + "\n" + "\n".join(extra)


async def projection_lag(session: aiohttp.ClientSession, url: str) -> str:
    """p50/p95 of customer_projection_lag_seconds (bucket bounds), from /metrics."""
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    buckets = []
    for line in text.splitlines():
        if line.startswith("customer_projection_lag_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return "no events projected"
    total = buckets[-1][1]

    def quantile(q: float) -> str:
        bound = next(b for b, count in buckets if count >= q * total)
        return f"<= {bound:g} s"

    return f"p50 {quantile(0.5)}, p95 {quantile(0.95)}, p99 {quantile(0.99)} ({int(total)} events)"


def segment_evaluation() -> str:
    """Rule evaluation for one customer against 50 segments (pure CPU, this process)."""
    from datetime import UTC, date, datetime

    from domain.commands import AddAddress, CreateCustomer
    from domain.decide import decide
    from domain.policy import Policy
    from domain.segments import Rule, Segment, memberships

    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime.now(UTC)
    customer, _ = decide(None, CreateCustomer("c", "a@example.com"), now, policy)
    customer, _ = decide(customer, AddAddress("a", ADDRESS), now, policy)
    rules = (
        Rule("total_orders", "gte", 3),
        Rule("preferences.newsletter", "eq", True),
        Rule("address_countries", "contains", "US"),
        Rule("created_at", "gt", "2026-01-01T00:00:00+00:00"),
    )
    segments = [Segment(str(n), f"s{n}", rules, min_score=2) for n in range(50)]
    snapshot = customer.snapshot()
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        memberships(segments, snapshot, date.today())
    per = (time.perf_counter() - started) / runs * 1000
    return f"segment evaluation: {per:.3f} ms per customer against 50 segments (seed: < 50 ms)"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service; default: start a throwaway stack")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--token", help="an admin access token (with --url)")
    parser.add_argument(
        "--list-customers",
        type=int,
        default=1_000_000,
        help="synthetic customers for the list phases (throwaway stack only; 0 skips)",
    )
    args = parser.parse_args()

    if args.url:
        if not args.token:
            parser.error("--url needs --token (make run prints one)")
        report_text = asyncio.run(
            bench(args.url.rstrip("/"), args.duration, args.clients, args.warmup, args.token)
        )
        print(report_text)
        return 0

    from devstack.stack import (
        CUSTOMER_PORT_VARIABLES,
        customer_service_command,
        customer_service_companions,
        customer_service_env,
        start_app,
        start_infrastructure,
    )

    root = Path(tempfile.mkdtemp(prefix="customer-service-bench-"))
    print(f"bench: starting a throwaway stack (logs in {root}/logs)", file=sys.stderr)
    infra = start_infrastructure(root)
    secret = secrets.token_urlsafe(48)
    try:
        apply_migrations(infra.postgres_dsn)
        app = start_app(
            "customer-service",
            customer_service_command(),
            infra,
            root,
            env={
                **customer_service_env(infra),
                "CUSTOMER_LOG_LEVEL": "warning",
                "CUSTOMER_JWT_SECRET": secret,
            },
            port_variables=CUSTOMER_PORT_VARIABLES,
            companions=customer_service_companions(),
        )
        try:
            issuer = TokenIssuer(secret, "customer-service", "shop", timedelta(hours=2))
            token = issuer.issue("bench", ["admin"], datetime.now(UTC))
            print(
                asyncio.run(
                    bench(
                        app.app_url,
                        args.duration,
                        args.clients,
                        args.warmup,
                        token,
                        args.list_customers,
                        infra.postgres_dsn,
                    )
                )
            )
        finally:
            app.stop()
    finally:
        infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
