"""The Customer actor's side of unique keys.

A value nobody holds is claimed with one insert-only write: the database lets
exactly one of any number of simultaneous claimants succeed. Only when the key
is already claimed does the decision need judgment (is the holder still
holding it?), and that goes to the key's UniqueKey actor, which serializes it.
Only Customer actors call UniqueKey actors, never the other way round, so the
two can never wait on each other.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from actors.claim_store import ClaimStore
from actors.document_store import ConcurrencyConflict, StoreError
from actors.invoker import ActorInvoker, SidecarUnavailable
from domain.claims import Claim
from observability.logging import get_logger

log = get_logger(__name__)

UNIQUE_KEY_ACTOR = "UniqueKey"


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """``refusal`` None: the customer holds the key; ``newly``: this claim took it
    (False when the customer held it already, as on a retry of a change that
    committed): only a key taken newly may be given back when the change fails."""

    refusal: str | None
    newly: bool = False


class KeyClaims:
    def __init__(
        self,
        invoker: ActorInvoker,
        claims: ClaimStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._invoker = invoker
        self._claims = claims
        self._clock = clock

    async def claim(self, key: str, customer_id: str) -> ClaimOutcome:
        """Whether ``customer_id`` now holds ``key``, and whether it held it before."""
        fresh = Claim(customer_id, self._clock()).to_document()
        try:
            await self._claims.save(key, fresh, etag=None)  # insert-only
            return ClaimOutcome(None, newly=True)
        except ConcurrencyConflict:
            pass  # claimed already (maybe by us): the key's actor decides
        except StoreError as exc:
            log.warning("claiming a unique key failed", error=str(exc))
            return ClaimOutcome("unavailable")
        try:
            reply = await self._invoker.call(
                UNIQUE_KEY_ACTOR, key, "claim", {"customer_id": customer_id}
            )
        except SidecarUnavailable:
            return ClaimOutcome("unavailable")
        if reply.get("ok"):
            return ClaimOutcome(None, newly=not reply.get("renewed", False))
        return ClaimOutcome(str((reply.get("error") or {}).get("code", "unavailable")))

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
        """Who claimed ``key`` (a read: the claim may be stale, the caller checks
        the holder's document)."""
        try:
            loaded = await self._claims.load(key)
        except StoreError as exc:
            raise SidecarUnavailable("the unique key store is unavailable") from exc
        if loaded.document is None:
            return None
        holder = Claim.from_document(loaded.document).customer_id
        # Only a customer id can hold a value; anything else is noise, not a holder.
        return holder if _is_customer_id(holder) else None


def _is_customer_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
