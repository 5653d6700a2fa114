"""The Customer actor's side of unique keys: calls to the UniqueKey actors.

Only Customer actors call UniqueKey actors, never the other way round, so the
two can never wait on each other.
"""

from __future__ import annotations

from actors.invoker import ActorInvoker, SidecarUnavailable
from observability.logging import get_logger

log = get_logger(__name__)

UNIQUE_KEY_ACTOR = "UniqueKey"


class KeyClaims:
    def __init__(self, invoker: ActorInvoker) -> None:
        self._invoker = invoker

    async def claim(self, key: str, customer_id: str) -> str | None:
        """None when ``customer_id`` now holds ``key``; else why not."""
        try:
            reply = await self._invoker.call(
                UNIQUE_KEY_ACTOR, key, "claim", {"customer_id": customer_id}
            )
        except SidecarUnavailable:
            return "unavailable"
        if reply.get("ok"):
            return None
        return str((reply.get("error") or {}).get("code", "unavailable"))

    async def release(self, key: str, customer_id: str) -> None:
        """Best effort: a claim left behind is stale, and the next claimant clears it."""
        try:
            reply = await self._invoker.call(
                UNIQUE_KEY_ACTOR, key, "release", {"customer_id": customer_id}
            )
        except SidecarUnavailable:
            reply = {"ok": False}
        if not reply.get("ok"):
            log.warning("releasing a unique key failed; it stays claimed until contested")

    async def holder(self, key: str) -> str | None:
        reply = await self._invoker.call(UNIQUE_KEY_ACTOR, key, "holder")
        if reply.get("ok"):
            return str(reply["customer_id"])
        if (reply.get("error") or {}).get("code") == "not_found":
            return None
        raise SidecarUnavailable("the unique key store is unavailable")
