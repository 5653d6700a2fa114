"""Typed dependencies for routes, built once in the app's lifespan."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import aiohttp
import asyncpg
from fastapi import Depends, Request

from actors.invoker import ActorInvoker
from actors.key_claims import KeyClaims
from domain.policy import Policy
from security.access_tokens import TokenIssuer
from security.command_secrets import CommandSecrets
from security.keyring import Keyring
from security.macs import MacKeyring
from security.passwords import DecoyHash
from service.publisher import Publisher
from service.settings import Settings


@dataclasses.dataclass(frozen=True, slots=True)
class AuthServices:
    issuer: TokenIssuer
    totp_keys: Keyring
    notification_keys: Keyring
    decoy: DecoyHash
    policy: Policy
    # Seals the passwords and codes that sign-in commands carry to an actor.
    command_secrets: CommandSecrets


@dataclasses.dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    sidecar: aiohttp.ClientSession
    actors: ActorInvoker
    database: asyncpg.Pool
    auth: AuthServices
    keys: KeyClaims
    publisher: Publisher
    # Verifies the events this service published (the projector's check).
    event_keys: MacKeyring


async def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def _actors(request: Request) -> ActorInvoker:
    return (await _resources(request)).actors


Deps = Annotated[Resources, Depends(_resources)]
Actors = Annotated[ActorInvoker, Depends(_actors)]
