"""Talking to the event sink (tests/support/event_sink.py) beyond reading it."""

from __future__ import annotations

import httpx


async def forget_events(sink_url: str, subjects: list[str]) -> int:
    """Make the sink drop every event about ``subjects``; return how many it dropped."""
    async with httpx.AsyncClient(base_url=sink_url, timeout=30) as client:
        response = await client.post("/forget", json={"subjects": subjects})
        response.raise_for_status()
        forgotten: int = response.json()["forgotten"]
        return forgotten
