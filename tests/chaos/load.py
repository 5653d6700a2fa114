"""Retrying clients under which the faults happen, and their log of every write.

Each client owns the customers it creates (so the writes to one customer come
one at a time, in order) and mixes three writes: a create with an
``Idempotency-Key`` (some with an email from a small pool that every client
also uses, in varied letter case, so that creates race for one email), a PATCH
that sets ``metadata.chaos_seq`` to the customer's next number (sometimes with
an email change too), and an address add with an ``Idempotency-Key`` (random
type, sometimes ``is_default``). A transport error, a 5xx or a ``409
conflict`` is retried with the same request (same key, same body), failing
over to the next replica's URL, until the write's deadline. The log says which
writes were acknowledged and the version each reply returned: what the truth
is checked against.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Sequence
from typing import Any

import httpx

from service.preconditions import address_id_for, customer_id_for
from service.schemas import ADDRESS_EXAMPLE
from tests.support.credentials import admin_token
from tests.support.values import customer_body

ACKED, REFUSED, GAVE_UP = "acked", "refused", "gave_up"
CREATE, PATCH, ADDRESS = "create", "patch", "address"
ATTEMPT_TIMEOUT = 10.0
SHARED_EMAILS = 4


@dataclasses.dataclass
class Write:
    """One write as the client saw it (times are ``time.time()``)."""

    client: int
    kind: str
    customer_id: str
    started: float
    key: str | None = None
    seq: int | None = None  # PATCH: the chaos_seq it sets
    email: str | None = None  # create, or a PATCH that changes the email
    address_id: str | None = None
    attempts: int = 0
    outcome: str = "pending"
    status: int | None = None
    problem: str | None = None
    version: int | None = None
    acked_at: float | None = None
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class LoadPlan:
    tag: str  # unique per experiment and run: keys and emails derive from it
    clients: int
    seconds: float
    # A write still unacknowledged this long after its first attempt is given up.
    write_deadline: float = 60.0
    think: tuple[float, float] = (0.1, 0.3)  # pause between a client's writes
    seed: int = 1


class LoadClient:
    def __init__(
        self, number: int, plan: LoadPlan, http: Sequence[httpx.AsyncClient], log: list[Write]
    ) -> None:
        self.number = number
        self.plan = plan
        self.http = http
        self.home = number % len(http)
        self.log = log
        self.random = random.Random(f"{plan.seed}-{plan.tag}-{number}")  # noqa: S311 - load mix
        self.customers: list[str] = []
        self.next_seq: dict[str, int] = {}
        self.count = 0

    async def run(self, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            await self.one_write()
            await asyncio.sleep(self.random.uniform(*self.plan.think))

    async def one_write(self) -> None:
        self.count += 1
        roll = self.random.random()
        if len(self.customers) < 2 or roll < 0.3:
            await self.create()
        elif roll < 0.65:
            await self.patch(self.random.choice(self.customers))
        else:
            await self.add_address(self.random.choice(self.customers))

    def _email(self, label: str) -> str:
        if self.random.random() < 0.2:
            # Every client draws from the same few: creates and changes race for them.
            local = f"shared-{self.random.randrange(SHARED_EMAILS)}-{self.plan.tag}"
            return self.random.choice([local, local.upper(), local.title()]) + "@example.com"
        return f"{label}-{self.plan.tag}-{self.number}-{self.count}@example.com"

    async def create(self) -> None:
        key = f"chaos-{self.plan.tag}-{self.number}-{self.count}"
        customer_id = customer_id_for(key)
        email = self._email("c")
        body = customer_body(
            email=email, first_name=f"Client{self.number}", metadata={"chaos_seq": 0}
        )
        write = Write(self.number, CREATE, customer_id, time.time(), key=key, email=email)
        await self._send(write, "POST", "/api/v1/customers", body, {"Idempotency-Key": key})
        if write.outcome == ACKED:
            self.customers.append(customer_id)
            self.next_seq[customer_id] = 1

    async def patch(self, customer_id: str) -> None:
        seq = self.next_seq[customer_id]
        self.next_seq[customer_id] = seq + 1
        body: dict[str, Any] = {"metadata": {"chaos_seq": seq}, "last_name": f"Seq{seq}"}
        write = Write(self.number, PATCH, customer_id, time.time(), seq=seq)
        if self.random.random() < 0.15:
            body["email"] = write.email = self._email("p")
        await self._send(write, "PATCH", f"/api/v1/customers/{customer_id}", body, {})

    async def add_address(self, customer_id: str) -> None:
        key = f"addr-{self.plan.tag}-{self.number}-{self.count}"
        kind = self.random.choice(["SHIPPING", "BILLING", "BOTH"])
        body = {
            **{k: v for k, v in ADDRESS_EXAMPLE.items() if k != "customer_id"},
            "type": kind,
            "label": key[-40:],
            "is_default": self.random.random() < 0.3,
        }
        write = Write(
            self.number,
            ADDRESS,
            customer_id,
            time.time(),
            key=key,
            address_id=address_id_for(customer_id, key),
        )
        path = f"/api/v1/customers/{customer_id}/addresses"
        await self._send(write, "POST", path, body, {"Idempotency-Key": key})

    async def _send(
        self,
        write: Write,
        method: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        self.log.append(write)
        deadline = time.monotonic() + self.plan.write_deadline
        target, pause = self.home, 0.1
        while True:
            write.attempts += 1
            retry = True
            try:
                response = await self.http[target].request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                write.errors.append(type(exc).__name__)
            else:
                write.status = response.status_code
                problem = _problem_type(response)
                if response.status_code < 300:
                    write.outcome, write.acked_at = ACKED, time.time()
                    write.version = _version(response.json())
                    return
                write.errors.append(f"{response.status_code} {problem}")
                retry = response.status_code >= 500 or problem == "conflict"
                write.problem = problem
            if not retry:
                write.outcome = REFUSED
                return
            if time.monotonic() > deadline:
                write.outcome = GAVE_UP
                return
            # As a load balancer would: the next attempt may go to another replica.
            target = (target + 1) % len(self.http)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)


def _problem_type(response: httpx.Response) -> str:
    try:
        kind = response.json().get("type", "")
    except ValueError:
        return ""
    return str(kind).rsplit(":", 1)[-1] if isinstance(kind, str) else ""


def _version(body: dict[str, Any]) -> int:
    if "customer" in body:
        return int(body["customer"]["version"])
    return int(body["version"])


async def run_load(
    urls: Sequence[str], plan: LoadPlan, log: list[Write], started: asyncio.Event | None = None
) -> None:
    """``plan.clients`` clients for ``plan.seconds``; returns when every write is settled
    (acknowledged, refused or given up)."""
    headers = {"authorization": f"Bearer {admin_token()}"}
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)
    clients = [
        httpx.AsyncClient(base_url=url, headers=headers, timeout=ATTEMPT_TIMEOUT, limits=limits)
        for url in urls
    ]
    try:
        stop_at = time.monotonic() + plan.seconds
        workers = [LoadClient(n, plan, clients, log) for n in range(plan.clients)]
        if started is not None:
            started.set()
        await asyncio.gather(*(worker.run(stop_at) for worker in workers))
    finally:
        for client in clients:
            await client.aclose()
