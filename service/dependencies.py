"""What routes are given: every shared object, built once by service/bootstrap.py,
reaches a route as an ``Annotated`` parameter of its type; so do who is calling
(``Caller``, service/authentication.py) and from where (``ClientInfo``).

``Customers`` is bound to the caller: every actor call a route makes for a
customer's token names that customer's session, and the actor refuses it if
the session ended (domain/sessions.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import aiohttp
import asyncpg
from fastapi import Depends, Request

from accounts.ended_sessions import EndedSessionsFeed
from actors.key_claims import KeyClaims
from readmodel.segment_store import SegmentStore
from service.actor_replies import CustomerActors
from service.authentication import Authenticator, Principal
from service.background import Background
from service.export import Exports
from service.origin import DIRECT, Origin
from service.sessions import Client, SessionFlows
from service.settings import Settings
from service.sign_in import SignIn
from service.step_up import StepUp

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    authenticator: Authenticator
    sidecar: aiohttp.ClientSession
    database: asyncpg.Pool
    customers: CustomerActors
    keys: KeyClaims
    sign_in: SignIn
    step_up: StepUp
    sessions: SessionFlows
    background: Background
    ended_feed: EndedSessionsFeed
    segments: SegmentStore
    exports: Exports


async def services(request: Request) -> Services:
    """The app's services: the lifespan hands them to every request's state."""
    built: Services = request.state.services
    return built


AppServices = Annotated[Services, Depends(services)]


def _part(take: Callable[[Services], T]) -> Callable[[Services], Awaitable[T]]:
    # async: FastAPI runs a plain function dependency in a worker thread, per request.
    async def dependency(services: AppServices) -> T:
        return take(services)

    return dependency


AppSettings = Annotated[Settings, Depends(_part(lambda s: s.settings))]
Sidecar = Annotated[aiohttp.ClientSession, Depends(_part(lambda s: s.sidecar))]
Database = Annotated[asyncpg.Pool, Depends(_part(lambda s: s.database))]
Keys = Annotated[KeyClaims, Depends(_part(lambda s: s.keys))]
SignInFlows = Annotated[SignIn, Depends(_part(lambda s: s.sign_in))]
StepUpFlows = Annotated[StepUp, Depends(_part(lambda s: s.step_up))]
SessionFlowsDep = Annotated[SessionFlows, Depends(_part(lambda s: s.sessions))]
Segments = Annotated[SegmentStore, Depends(_part(lambda s: s.segments))]
ExportsDep = Annotated[Exports, Depends(_part(lambda s: s.exports))]


async def _principal(request: Request, services: AppServices) -> Principal:
    origin: Origin = getattr(request.state, "origin", DIRECT)
    principal = services.authenticator.authenticate(origin, request.headers.get("authorization"))
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(_principal)]


async def _customers(services: AppServices, caller: Caller) -> CustomerActors:
    return services.customers.acting_for(caller.access)


Customers = Annotated[CustomerActors, Depends(_customers)]


async def _client(request: Request) -> Client:
    address = getattr(request.state, "client_address", None) or "unknown"
    return Client.of(address, request.headers.get("user-agent"))


ClientInfo = Annotated[Client, Depends(_client)]
