"""A subscriber of customer-events, as another service would be: a real Dapr
subscription through its own sidecar. It records every CloudEvent it gets and
shows them on GET /received. Run: ``APP_PORT=... python -m tests.support.event_sink``.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

PUBSUB = "customer-pubsub"
TOPIC = "customer-events"
DEAD_LETTERS = "customer-events-deadletter"

app = FastAPI()
received: list[dict[str, Any]] = []
dead_letters: list[dict[str, Any]] = []


@app.get("/dapr/subscribe")
async def subscriptions() -> list[dict[str, str]]:
    return [
        {"pubsubname": PUBSUB, "topic": TOPIC, "route": "/events"},
        {"pubsubname": PUBSUB, "topic": DEAD_LETTERS, "route": "/dead-letters"},
    ]


@app.post("/dead-letters")
async def on_dead_letter(request: Request) -> dict[str, str]:
    dead_letters.append(await request.json())
    return {"status": "SUCCESS"}


@app.get("/dead-letters")
async def show_dead_letters() -> list[dict[str, Any]]:
    return dead_letters


@app.post("/events")
async def on_event(request: Request) -> dict[str, str]:
    received.append(await request.json())
    return {"status": "SUCCESS"}


@app.get("/received")
async def show() -> list[dict[str, Any]]:
    return received


@app.post("/forget")
async def forget(request: Request) -> dict[str, int]:
    """Drop the events of the given subjects: a test that made events for customers
    that exist only in the read model (synthetic ones) cleans up after itself."""
    subjects = set((await request.json())["subjects"])
    kept = [event for event in received if event.get("subject") not in subjects]
    forgotten = len(received) - len(kept)
    received[:] = kept
    return {"forgotten": forgotten}


@app.get("/livez")
async def live() -> dict[str, str]:
    return {"status": "alive"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="warning")
