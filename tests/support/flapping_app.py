"""A tiny app for daprd fault tests: its health can be switched off and on.

``GET /livez`` answers 200 while healthy and 503 while not; ``POST
/control/unhealthy`` and ``POST /control/healthy`` switch it. Events that daprd
delivers (the declarative subscription in components/ routes customer-events to
``/events/customer-events``) are counted; ``GET /control/stats`` shows the counts.
Run: ``APP_PORT=... python -m tests.support.flapping_app``.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()
state = {"healthy": True, "probes": 0, "events": 0}


@app.get("/livez")
async def live(response: Response) -> dict[str, bool]:
    state["probes"] += 1
    if not state["healthy"]:
        response.status_code = 503
    return {"healthy": bool(state["healthy"])}


@app.post("/control/{health}")
async def switch(health: str, response: Response) -> dict[str, bool]:
    if health not in ("healthy", "unhealthy"):
        response.status_code = 404
    else:
        state["healthy"] = health == "healthy"
    return {"healthy": bool(state["healthy"])}


@app.get("/control/stats")
async def stats() -> dict[str, int]:
    return {key: int(value) for key, value in state.items()}


@app.get("/dapr/subscribe")
async def subscriptions() -> list[dict[str, str]]:
    # A regular subscription beside the outbox's internal one.
    return [
        {
            "pubsubname": "customer-pubsub",
            "topic": "customer-events",
            "route": "/events/customer-events",
        }
    ]


@app.post("/events/{topic}")
async def on_event(topic: str, request: Request) -> dict[str, str]:
    await request.body()
    state["events"] += 1
    return {"status": "SUCCESS"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="warning")
