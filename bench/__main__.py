"""Drive the service with concurrent clients and report where the time and CPU go.

    python -m bench                       # the README's own configuration, on its own ports
    python -m bench --url http://localhost:8003 --token <admin token>   # a running stack

Phases, --duration seconds each: create customers, read them back, add addresses to
random customers, list a customer's addresses, look up 100 customers by id, create
wishlists for random customers, add items to random wishlists (a new product each: the
wishlist document grows), read a wishlist back; then (own stack only) a baseline (a bare
ASGI app doing one Postgres point read per request, to compare the reads with), a scale
phase (--scale-customers documents stored, each actor activated, the API's memory and
reads over a random spread of them), and over --list-customers synthetic customers in
the read model: list newest first, page on with the cursor, filter, search by name.
Each phase reports p50/p95/p99, throughput, errors and each process's CPU share. The
load generator shares the machine with everything it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from datetime import UTC, date, datetime

import aiohttp

from bench import scale
from bench.cpu import sample_whole_machine
from bench.phases import run_phase
from bench.requests import ADDRESS, BaselineRequests, ServiceRequests, SpreadReads
from bench.stack import BenchStack, baseline_app, bench_stack
from bench.stats import PhaseResult, Seed, report
from readmodel.generate import generate

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


@dataclasses.dataclass(frozen=True)
class Options:
    duration: float
    clients: int
    warmup: float
    list_customers: int
    scale_customers: int


def _session(clients: int, token: str | None = None) -> aiohttp.ClientSession:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients * 2),
        timeout=aiohttp.ClientTimeout(total=30),
        headers=headers,
    )


async def service_phases(
    requests: ServiceRequests, token: str, options: Options
) -> tuple[list[PhaseResult], str]:
    duration, clients = options.duration, options.clients
    async with _session(clients, token) as session:
        if options.warmup:
            await run_phase("warm-up", session, requests.create, options.warmup, clients)
        results = [
            await run_phase("create customer", session, requests.create, duration, clients),
            await run_phase("get customer", session, requests.get, duration, clients),
            await run_phase("create address", session, requests.add_address, duration, clients),
            await run_phase("list addresses", session, requests.list_addresses, duration, clients),
            await run_phase("get 100 by ids", session, requests.get_by_ids, duration, clients),
            await run_phase(
                "create wishlist", session, requests.create_wishlist, duration, clients
            ),
            await run_phase(
                "add wishlist item", session, requests.add_wishlist_item, duration, clients
            ),
            await run_phase("get wishlist", session, requests.get_wishlist, duration, clients),
        ]
        lag = await projection_lag(session, requests.url)
    return results, f"projection lag during the create phase: {lag}"


async def own_stack_phases(
    stack: BenchStack, requests: ServiceRequests, options: Options
) -> tuple[list[PhaseResult], list[str]]:
    duration, clients = options.duration, options.clients
    results: list[PhaseResult] = []
    notes: list[str] = []
    with baseline_app(stack.infra.postgres_dsn, stack.root) as url:
        async with _session(clients) as session:
            reads = BaselineRequests(url, requests.created)
            results.append(await run_phase("baseline read", session, reads.read, duration, clients))
    if options.scale_customers:
        results_scale, note = await scale_phase(stack, options)
        results += results_scale
        notes.append(note)
    if options.list_customers:
        seconds = await generate(stack.infra.postgres_dsn, options.list_customers, seed=7)
        notes.append(
            f"read model: {options.list_customers:,} synthetic customers ({seconds:.0f} s)"
        )
        async with _session(clients, stack.admin_token) as session:
            for name, request in (
                ("list newest", requests.list_page),
                ("list next page", requests.next_page),
                ("list filtered", requests.filtered),
                ("search name", requests.search),
            ):
                results.append(await run_phase(name, session, request, duration, clients))
    return results, notes


async def scale_phase(stack: BenchStack, options: Options) -> tuple[list[PhaseResult], str]:
    count, clients = options.scale_customers, options.clients
    started = time.perf_counter()
    ids = await scale.seed(stack.infra.postgres_dsn, count)
    seeded = time.perf_counter() - started
    api_pid = stack.app.app.pid
    assert api_pid is not None
    before = scale.resident_bytes(api_pid)
    activation = await scale.activate(
        stack.app.sidecar_url, stack.api_token, stack.command_keys, ids, clients
    )
    after = scale.resident_bytes(api_pid)
    per_actor = (after - before) / count
    async with _session(clients, stack.admin_token) as session:
        reads = SpreadReads(stack.app.app_url, ids)
        result = await run_phase("get (scale)", session, reads.get, options.duration, clients)
    note = (
        f"scale: {count:,} customers (2 addresses each) stored in {seeded:.0f} s, every actor "
        f"activated in {activation:.0f} s; API memory (all its processes) "
        f"{before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB: "
        f"{per_actor / 1024:.1f} KiB per active actor"
    )
    return [result], note


async def projection_lag(session: aiohttp.ClientSession, url: str) -> str:
    """p50/p95/p99 of customer_projection_lag_seconds (bucket bounds), from /metrics."""
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


def _ratio(results: list[PhaseResult]) -> str | None:
    by_name = {result.name: result for result in results}
    if "get customer" not in by_name or "baseline read" not in by_name:
        return None
    ratio = by_name["get customer"].throughput / max(by_name["baseline read"].throughput, 1e-9)
    return f"get customer throughput is {ratio:.2f}x the bare baseline's"


async def run(url: str, token: str, options: Options, stack: BenchStack | None) -> str:
    requests = ServiceRequests(url)
    results, lag = await service_phases(requests, token, options)
    notes = [lag]
    if stack is not None:
        more, stack_notes = await own_stack_phases(stack, requests, options)
        results += more
        notes += stack_notes
    if (ratio := _ratio(results)) is not None:
        notes.append(ratio)
    notes.append(segment_evaluation())
    return report(results, SEED_FIGURES, options.clients) + "\n\n" + "\n".join(notes)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service; default: start the stack")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--token", help="an admin access token (with --url)")
    parser.add_argument(
        "--list-customers",
        type=int,
        default=1_000_000,
        help="synthetic customers for the list phases (own stack only; 0 skips)",
    )
    parser.add_argument(
        "--scale-customers",
        type=int,
        default=100_000,
        help="customers stored and activated for the scale phase (own stack only; 0 skips)",
    )
    args = parser.parse_args()
    options = Options(
        args.duration, args.clients, args.warmup, args.list_customers, args.scale_customers
    )
    if args.url:
        sample_whole_machine()
        if not args.token:
            parser.error("--url needs --token (make run prints one)")
        print(asyncio.run(run(args.url.rstrip("/"), args.token, options, None)))
        return 0
    with bench_stack() as stack:
        print(asyncio.run(run(stack.app.app_url, stack.admin_token, options, stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
