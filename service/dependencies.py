"""What routes are given: every shared object, built once by service/bootstrap.py,
reaches a route as an ``Annotated`` parameter of its type."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import aiohttp
import asyncpg
from fastapi import Depends, Request

from actors.key_claims import KeyClaims
from readmodel.segment_store import SegmentStore
from service.actor_replies import CustomerActors
from service.authentication import Authenticator
from service.settings import Settings
from service.sign_in import SignIn

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
    segments: SegmentStore


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
Customers = Annotated[CustomerActors, Depends(_part(lambda s: s.customers))]
Keys = Annotated[KeyClaims, Depends(_part(lambda s: s.keys))]
SignInFlows = Annotated[SignIn, Depends(_part(lambda s: s.sign_in))]
Segments = Annotated[SegmentStore, Depends(_part(lambda s: s.segments))]
Authentication = Annotated[Authenticator, Depends(_part(lambda s: s.authenticator))]
