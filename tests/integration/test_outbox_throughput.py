"""The outbox must not cap event throughput at ~10 events/s.

Each outbox event is held ~1 s inside a pub/sub handler slot, so throughput is
about the Redis component's `concurrency` per second (default 10: 200 events
would take ~20 s). components/pubsub.yaml raises it; this proves it is enough.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.integration.conftest import EventSink, customer_body

CUSTOMERS = 200
CLIENTS = 20
# From the last commit: the 1 s outbox hold plus delivery; ~20 s at concurrency 10.
MAX_SECONDS_AFTER_LAST_COMMIT = 6.0


async def test_200_creates_publish_200_events_within_seconds(
    api: httpx.AsyncClient, event_sink: EventSink
) -> None:
    ids: set[str] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(CUSTOMERS):
        queue.put_nowait(number)

    async def client() -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = customer_body(first_name=f"Burst{number}")
            response = await api.post("/api/v1/customers", json=body)
            assert response.status_code == 201, response.text
            ids.add(response.json()["customer"]["id"])

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    committed_in = time.monotonic() - started

    waited = await event_sink.wait_for(ids, within=30)

    assert len(ids) == CUSTOMERS
    print(f"\n{CUSTOMERS} creates in {committed_in:.2f}s; last event {waited:.2f}s after")
    assert waited < MAX_SECONDS_AFTER_LAST_COMMIT
    events = [e for e in await event_sink.events() if e.get("subject") in ids]
    assert sorted(e["subject"] for e in events) == sorted(ids)  # one each, no duplicates
