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
from actors.client import ActorClient
from actors.codec import UnexpectedReply
from actors.document_store import ConcurrencyConflict, StoreError
from actors.invoker import SidecarUnavailable
from actors.protocol import FieldProblem, Refused
from actors.unique_key_protocol import CLAIM, RELEASE, Granted, KeyRefusal, KeyRequest, Released
from domain.claims import Claim
from domain.errors import Refusal
from domain.unique_keys import EMAIL, kind_of
from observability.logging import get_logger

log = get_logger(__name__)

_UNAVAILABLE = Refused(Refusal.UNAVAILABLE, "the unique key store is unavailable")
_CONFLICT = Refused(Refusal.CONFLICT, "a unique value was claimed concurrently; retry")
# A value another customer holds, by kind of key: (code, detail, field).
_TAKEN = {EMAIL: (Refusal.EMAIL_TAKEN, "another customer already uses this email", "email")}
_LEGACY_TAKEN = (
    Refusal.LEGACY_ID_TAKEN,
    "another customer already has this legacy id",
    "legacy_id",
)


def refusal_for(reason: KeyRefusal, key: str) -> Refused[Refusal]:
    """What the customer's command answers when its claim on ``key`` was refused."""
    if reason is KeyRefusal.CONFLICT:
        return _CONFLICT
    if reason is not KeyRefusal.TAKEN:
        return _UNAVAILABLE
    code, detail, field = _TAKEN.get(kind_of(key), _LEGACY_TAKEN)
    return Refused(code, detail, (FieldProblem(field, detail, str(code)),))


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """``refused`` None: the customer holds the key; ``newly``: this claim took it
    (False when the customer held it already, as on a retry of a change that
    committed): only a key taken newly may be given back when the change fails."""

    refused: Refused[Refusal] | None
    newly: bool = False


class KeyClaims:
    def __init__(
        self,
        keys: ActorClient[KeyRefusal],
        claims: ClaimStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = keys
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
            return ClaimOutcome(_UNAVAILABLE)
        try:
            reply = await self._keys.call(key, CLAIM, KeyRequest(customer_id))
        except (SidecarUnavailable, UnexpectedReply):
            return ClaimOutcome(_UNAVAILABLE)
        if isinstance(reply, Granted):
            return ClaimOutcome(None, newly=not reply.renewed)
        return ClaimOutcome(refusal_for(reply.code, key))

    async def release(self, key: str, customer_id: str) -> None:
        """Best effort: a claim left behind is stale, and the next claimant clears it."""
        try:
            reply: Released | Refused[KeyRefusal] | None = await self._keys.call(
                key, RELEASE, KeyRequest(customer_id)
            )
        except (SidecarUnavailable, UnexpectedReply):
            reply = None
        if not isinstance(reply, Released):
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
