"""The erasure deadline as a Dapr actor reminder, through the sidecar's HTTP API.

Dapr 1.18 keeps reminders in the scheduler, so a deadline survives restarts
and moves of the actor. The reminder is only a wake-up call: when it fires,
the actor decides on its document whether anything is due
(domain/erasure.py), and the worker's sweep erases what a lost reminder left
behind. So a reminder that cannot be set or deleted is logged, not fatal.
"""

from __future__ import annotations

import math
from datetime import datetime

import aiohttp

from actors.sidecar_http import JSON_HEADERS, TRANSPORT_FAILURES
from observability.logging import get_logger

log = get_logger(__name__)

ERASURE_REMINDER = "erasure-due"


class ActorReminders:
    def __init__(self, sidecar: aiohttp.ClientSession, actor_type: str) -> None:
        self._sidecar = sidecar
        self._actor_type = actor_type

    async def set(self, actor_id: str, due: datetime | None, now: datetime) -> None:
        """Wake ``actor_id`` up at ``due``; None: no wake-up any more."""
        url = f"/v1.0/actors/{self._actor_type}/{actor_id}/reminders/{ERASURE_REMINDER}"
        try:
            if due is None:
                async with self._sidecar.delete(url) as response:
                    status = response.status
                    await response.read()
            else:
                seconds = max(0, math.ceil((due - now).total_seconds()))
                body = f'{{"dueTime":"{seconds}s"}}'
                async with self._sidecar.post(url, data=body, headers=JSON_HEADERS) as response:
                    status = response.status
                    await response.read()
        except TRANSPORT_FAILURES as exc:
            log.warning("the erasure reminder was not changed", error=type(exc).__name__)
            return
        if status >= 300 and not (due is None and status == 404):
            log.warning("the erasure reminder was not changed", status=status)
