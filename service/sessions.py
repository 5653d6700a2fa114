"""Sessions as the API offers them: what a sign-in answers, refresh, logout,
revocation, the list of a customer's sessions.

A login (or its second step) opens a session: a short-lived access token that
names it (``sid``) with the customer's session epoch (``sep``), and an opaque
refresh token (``<session id>.<random>``, stored as its SHA-256 only) that
rotates on every refresh. Nothing here is a customer change: the session store
is Postgres, beside the documents (accounts/session_store.py).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import asyncpg

from accounts.session_store import SessionRef, SessionStore, SessionView
from actors.customer_protocol import GET, ReadCustomer
from actors.protocol import Refused
from domain.errors import Refusal
from domain.sessions import Access, RefreshVerdict
from observability.logging import get_logger
from observability.metrics import SESSIONS_ENDED
from security import one_time
from security.access_tokens import CUSTOMER, Session, TokenIssuer
from service.actor_replies import CustomerActors, refusal_problem
from service.authentication import Principal
from service.problems import BEARER_CHALLENGE, Problem

log = get_logger(__name__)

_INVALID_REFRESH = Problem(
    401,
    "invalid-refresh-token",
    "The refresh token is not valid",
    "the refresh token is unknown, used, expired, or its session has ended",
    headers=dict(BEARER_CHALLENGE),
)
# What ends the session a refresh token belongs to, instead of continuing it.
_ACCOUNT_REFUSALS = frozenset(
    {Refusal.SESSION_ENDED, Refusal.ACCOUNT_DISABLED, Refusal.NOT_FOUND, Refusal.DELETED}
)
_DATABASE_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
_USER_AGENT_CHARACTERS = 256


@dataclasses.dataclass(frozen=True, slots=True)
class Client:
    """Who is on the other end: its address (service/origin.py) and user agent."""

    address: str
    user_agent: str | None = None

    @classmethod
    def of(cls, address: str, user_agent: str | None) -> Client:
        shown = "".join(ch for ch in user_agent or "" if ch.isprintable())
        return cls(address, shown[:_USER_AGENT_CHARACTERS] or None)


@dataclasses.dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    expires_in: int
    customer_id: str
    refresh_token: str
    refresh_expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret


class SessionFlows:
    def __init__(self, store: SessionStore, issuer: TokenIssuer, customers: CustomerActors) -> None:
        self._store = store
        self._issuer = issuer
        self._customers = customers

    async def open(self, customer_id: str, epoch: int, client: Client) -> Tokens:
        """A new session for a customer whose sign-in the actor accepted at ``epoch``."""
        session = SessionRef(str(uuid.uuid4()), customer_id, epoch)
        # The refresh token names its session, as one-time tokens name their customer.
        refresh = one_time.new_token(session.id)
        await self._store.open(session, client.user_agent, one_time.digest(refresh))
        return self._tokens(session, refresh)

    async def refresh(self, refresh_token: str) -> Tokens:
        """A new pair for a refresh token; a used one back after the grace ends its session."""
        session_id = one_time.customer_of(refresh_token)
        stored = None if session_id is None else await self._store.session(session_id)
        if stored is None:
            raise _INVALID_REFRESH
        await self._still_allowed(stored)
        successor = one_time.new_token(stored.id)
        verdict, session = await self._store.refresh(
            one_time.digest(refresh_token), one_time.digest(successor)
        )
        if verdict is RefreshVerdict.REUSED:
            SESSIONS_ENDED.labels("refresh_token_reused").inc()
            log.warning("a replaced refresh token came back: its session ended")
        if session is None or verdict in (RefreshVerdict.REUSED, RefreshVerdict.INVALID):
            raise _INVALID_REFRESH
        return self._tokens(session, successor)

    async def logout(self, caller: Principal) -> None:
        """End the caller's session (an admin's token belongs to none)."""
        if caller.session_id is not None:
            await self._store.end(caller.session_id, "logout")
            SESSIONS_ENDED.labels("logout").inc()

    async def revoke(self, customer_id: str) -> None:
        await self._store.end_all(customer_id, "revoked")
        SESSIONS_ENDED.labels("revoked").inc()

    async def listed(self, customer_id: str) -> list[SessionView]:
        return await self._store.live(customer_id)

    async def _still_allowed(self, session: SessionRef) -> None:
        """Does the customer's actor still accept this session? If not, it ends."""
        read = ReadCustomer(access=Access(session.epoch))
        reply = await self._customers.call(session.customer_id, GET, read)
        if isinstance(reply, Refused):
            if reply.code not in _ACCOUNT_REFUSALS:
                raise refusal_problem(reply)
            await self._store.end(session.id, "account")
            SESSIONS_ENDED.labels("account").inc()
            raise _INVALID_REFRESH

    def _tokens(self, session: SessionRef, refresh: str) -> Tokens:
        claim = Session(session.id, session.epoch)
        access = self._issuer.issue(session.customer_id, [CUSTOMER], datetime.now(UTC), claim)
        return Tokens(
            access_token=access,
            expires_in=int(self._issuer.lifetime.total_seconds()),
            customer_id=session.customer_id,
            refresh_token=refresh,
            refresh_expires_in=int(self._store.lifetime.total_seconds()),
        )


class ActorSessions:
    """What the customer's actor ends after a change that ends every session:
    best effort (the moved epoch refuses those tokens anyway), never failing
    the change that already committed."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    async def end_all(self, customer_id: str, reason: str) -> None:
        try:
            await self._store.end_all(customer_id, reason)
        except _DATABASE_FAILURES as exc:
            log.warning("ending the customer's sessions failed", error=type(exc).__name__)
            return
        SESSIONS_ENDED.labels(reason).inc()
