"""The scale phase: many customers stored, each actor activated, memory and reads measured.

Documents are written straight into the state store's table (a customer with
two addresses, as the actor would store it), with matching read-model rows so
that the reconciler finds nothing to repair. They were created before any of
the list phases' synthetic customers (readmodel/generate.py), so that those
phases measure what they say: a million customers with names, not a block of
100,000 nameless ones at the head of "newest first". Each actor is then activated by an
explicit, signed actor call through the sidecar; the API process's resident
memory is read before and after, and reads are measured over a random spread.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

from domain.commands import AddAddress, CreateCustomer
from domain.decide import decide
from domain.model import Customer
from domain.policy import Policy
from readmodel.generate import COLUMNS
from security import command_signature
from security.macs import MacKeyring
from service.schemas import ADDRESS_EXAMPLE

_BATCH = 10_000
_ADDRESS = {k: v for k, v in ADDRESS_EXAMPLE.items() if k not in ("customer_id", "is_default")}


def _template() -> Customer:
    policy = Policy(customer_groups=frozenset({"retail"}))
    now = datetime(2022, 1, 1, tzinfo=UTC)
    customer, _ = decide(None, CreateCustomer("template", "t@example.com"), now, policy)
    customer, _ = decide(customer, AddAddress(str(uuid.uuid4()), _ADDRESS), now, policy)
    billing = {**_ADDRESS, "type": "BILLING"}
    customer, _ = decide(customer, AddAddress(str(uuid.uuid4()), billing), now, policy)
    return customer


async def seed(dsn: str, count: int) -> list[str]:
    """Store ``count`` customers (document + read-model row); their ids."""
    template = _template().to_document()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, count, _BATCH):
            chunk = ids[start : start + _BATCH]
            documents, rows = [], []
            for customer_id in chunk:
                email = f"scale-{customer_id}@example.com"
                document = {**template, "id": customer_id, "email": email}
                documents.append(
                    (f"customer-service||customer:{customer_id}", json.dumps(document).encode())
                )
                rows.append(_row(document))
            await conn.copy_records_to_table(
                "dapr_state", records=documents, columns=("key", "value")
            )
            await conn.copy_records_to_table("customers", records=rows, columns=COLUMNS)
    finally:
        await conn.close()
    return ids


def _row(document: dict[str, object]) -> tuple[object, ...]:
    created = datetime.fromisoformat(str(document["created_at"]))
    email = str(document["email"])
    return (
        uuid.UUID(str(document["id"])),
        document["version"],
        email,
        email,
        document["first_name"],
        document["last_name"],
        document["customer_type"],
        document["status"],
        False,
        "scale",
        json.dumps({}),
        document.get("customer_group_id"),
        0,
        0,
        None,
        created,
        created,
        None,
    )


async def activate(
    sidecar_url: str, api_token: str, keys: MacKeyring, ids: list[str], clients: int
) -> float:
    """Call ``get`` on every actor once; the seconds it took."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for customer_id in ids:
        queue.put_nowait(customer_id)
    headers = {"dapr-api-token": api_token}
    connector = aiohttp.TCPConnector(limit=clients * 2)
    started = time.perf_counter()
    async with aiohttp.ClientSession(sidecar_url, headers=headers, connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                customer_id = queue.get_nowait()
                body = b'{"include_deleted":true}'
                signature = command_signature.sign(
                    keys, "Customer", customer_id, "get", body, time.time()
                )
                async with session.post(
                    f"/v1.0/actors/Customer/{customer_id}/method/get",
                    data=body,
                    headers={
                        "content-type": "application/json",
                        command_signature.HEADER: signature,
                    },
                ) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"activating {customer_id} answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started


def resident_bytes(pid: int) -> int:
    """The resident memory of ``pid`` and every process below it (the API's
    supervisor and its worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    tree, frontier = {pid}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return sum(_own_resident_bytes(member) for member in tree)


def _own_resident_bytes(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0  # gone since it was listed
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
