"""Every shared object of the API process, built once, in order.

``edge`` builds what exists before the event loop runs (what the middleware
needs). ``start`` runs in the app's lifespan: it opens the sidecar session and
the database pool, registers the actors with the SDK's actor host, and builds
the services the routes are given (service/dependencies.py). ``stop`` closes
what ``start`` opened.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import aiohttp
import asyncpg
from dapr.actor import ActorId
from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.context import ActorRuntimeContext
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor

from accounts.ended_sessions import EndedSessions, EndedSessionsFeed
from accounts.session_store import SessionStore
from accounts.throttle_store import ThrottleStore
from actors.claim_store import ClaimStore
from actors.client import ActorClient
from actors.customer_actor import Customer, CustomerHandlers
from actors.customer_protocol import CUSTOMER
from actors.customer_shell import CustomerShell
from actors.document_store import DocumentStore
from actors.group_registry import GROUPS, CustomerGroupRegistry, GroupRegistryShell, LiveGroups
from actors.hosting import HostedActor, serve_per_call
from actors.invoker import ActorInvoker
from actors.key_claims import KeyClaims
from actors.reminders import ActorReminders
from actors.serialization import PlainJSONSerializer
from actors.sign_in import SignInFacts
from actors.unique_key_actor import UniqueKey, UniqueKeyShell
from actors.unique_key_protocol import UNIQUE_KEY
from actors.wishlist_shell import WishlistShell
from domain.policy import Policy
from domain.throttles import Lockout, ThrottlePolicy
from observability.logging import get_logger
from observability.metrics import process_exited
from readmodel.groups import record_groups
from readmodel.pool import open_pool
from readmodel.segment_store import SegmentStore
from security.access_tokens import TokenIssuer
from security.command_secrets import CommandSecrets
from security.macs import MacKeyring
from security.passwords import DecoyHash
from service.actor_replies import CustomerActors
from service.authentication import Authenticator
from service.background import Background
from service.dependencies import Services
from service.export import Exports
from service.group_reads import GroupReads, registered_groups
from service.lookups import Lookups
from service.sessions import ActorSessions, SessionFlows
from service.settings import Settings
from service.sidecar import make_sidecar_session
from service.sign_in import SignIn, SignInSecrets
from service.step_up import StepUp
from service.stored_reads import StoredCustomers
from service.throttling import Throttles
from service.wishlist_reads import WishlistReads

log = get_logger(__name__)

CUSTOMER_KEY_PREFIX = "customer"
# A customer's wishlists: a document of their own (domain/wishlists.py).
WISHLISTS_KEY_PREFIX = "wishlists"
# The customer groups: one registry document (actors/group_registry.py).
GROUPS_KEY_PREFIX = "customer-groups"
# An ended session is remembered while a token of it may be valid: a customer's
# token lives CUSTOMER_ACCESS_TOKEN_MINUTES, plus the leeway of its expiry check
# and a margin.
_TOKEN_LEEWAY = timedelta(seconds=65)


@dataclasses.dataclass(frozen=True, slots=True)
class Edge:
    settings: Settings
    # Signs actor calls and checks the calls the actor host receives.
    command_keys: MacKeyring
    issuer: TokenIssuer
    authenticator: Authenticator
    # Sessions that ended lately, kept by a feed that starts with the event loop.
    ended_sessions: EndedSessions


def edge(settings: Settings) -> Edge:
    issuer = TokenIssuer(
        secret=settings.signing_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    ended = EndedSessions(keep=issuer.lifetime + _TOKEN_LEEWAY)
    authenticator = Authenticator(issuer, ended)
    return Edge(settings, settings.mac_keyring("command"), issuer, authenticator, ended)


@dataclasses.dataclass(frozen=True, slots=True)
class _Core:
    """What the actors and the routes share."""

    policy: Policy
    event_keys: MacKeyring
    documents: DocumentStore
    wishlists: DocumentStore
    groups: DocumentStore
    claims: ClaimStore
    keys: KeyClaims
    invoker: ActorInvoker
    reminders: ActorReminders


def policy_of(settings: Settings) -> Policy:
    return Policy(
        customer_groups=frozenset(settings.groups),
        default_customer_group=settings.default_group,
        max_addresses=settings.max_addresses,
        max_wishlists=settings.max_wishlists,
        max_wishlist_items=settings.max_wishlist_items,
        erasure_grace=timedelta(days=settings.erasure_grace_days),
        deleted_retention=timedelta(days=settings.deleted_retention_days),
    )


def throttle_policy_of(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        limits=dict(settings.rate_limits),
        window=timedelta(seconds=settings.rate_limit_window_seconds),
        lockout=Lockout(settings.lockout_threshold, timedelta(minutes=settings.lockout_minutes)),
        deliveries_per_hour=settings.deliveries_per_hour,
    )


def _core(edge: Edge, sidecar: aiohttp.ClientSession) -> _Core:
    settings = edge.settings
    event_keys = settings.mac_keyring("event")
    wishlists = DocumentStore(sidecar, settings.state_store, WISHLISTS_KEY_PREFIX, event_keys)
    # An erasure drops the customer's wishlists in its own transaction.
    documents = DocumentStore(
        sidecar,
        settings.state_store,
        CUSTOMER_KEY_PREFIX,
        event_keys,
        companions=(WISHLISTS_KEY_PREFIX,),
    )
    claims = ClaimStore(sidecar, settings.state_store)
    invoker = ActorInvoker(sidecar, edge.command_keys)
    keys = KeyClaims(ActorClient(invoker, UNIQUE_KEY), claims)
    reminders = ActorReminders(sidecar, CUSTOMER.name)
    groups = DocumentStore(sidecar, settings.state_store, GROUPS_KEY_PREFIX, event_keys)
    return _Core(
        policy_of(settings),
        event_keys,
        documents,
        wishlists,
        groups,
        claims,
        keys,
        invoker,
        reminders,
    )


def _actor_config(settings: Settings) -> ActorRuntimeConfig:
    return ActorRuntimeConfig(
        actor_idle_timeout=timedelta(seconds=settings.actor_idle_timeout_seconds),
        actor_scan_interval=timedelta(seconds=settings.actor_scan_interval_seconds),
        drain_ongoing_call_timeout=timedelta(seconds=20),
        drain_rebalanced_actors=True,
    )


async def _register_actors(
    host: DaprActor, settings: Settings, core: _Core, facts: SignInFacts, sessions: ActorSessions
) -> None:
    def customer(ctx: ActorRuntimeContext, actor_id: ActorId) -> HostedActor:
        shell = CustomerShell(
            str(actor_id.id),
            core.documents,
            core.keys,
            core.policy,
            sessions=sessions,
            reminders=core.reminders,
            groups=LiveGroups(core.groups, tuple(settings.groups)),
        )
        wishlists = WishlistShell(str(actor_id.id), core.documents, core.wishlists, core.policy)
        return Customer(ctx, actor_id, CustomerHandlers(shell, facts, wishlists))

    def registry(ctx: ActorRuntimeContext, actor_id: ActorId) -> HostedActor:
        shell = GroupRegistryShell(
            core.groups,
            tuple(settings.groups),
            settings.default_group,
            settle=timedelta(seconds=settings.group_delete_settle_seconds),
        )
        return CustomerGroupRegistry(ctx, actor_id, shell)

    def unique_key(ctx: ActorRuntimeContext, actor_id: ActorId) -> HostedActor:
        shell = UniqueKeyShell(str(actor_id.id), core.claims, core.documents)
        return UniqueKey(ctx, actor_id, shell)

    ActorRuntime.set_actor_config(_actor_config(settings))
    serializer = PlainJSONSerializer()
    hosted = ((Customer, customer), (UniqueKey, unique_key), (CustomerGroupRegistry, registry))
    for actor, factory in hosted:
        await host.register_actor(
            actor,
            message_serializer=serializer,
            state_serializer=serializer,
            actor_factory=factory,
        )
        await serve_per_call(actor)


async def start(edge: Edge, host: DaprActor) -> Services:
    settings = edge.settings
    sidecar = make_sidecar_session(settings)
    database = await open_pool(settings.database_url, settings.database_pool_size, 5)
    core = _core(edge, sidecar)
    # A decoy hash at the configured cost: unknown emails take as long as known ones.
    secrets = SignInSecrets(
        totp_keys=settings.keyring("totp"),
        notification_keys=settings.keyring("notification"),
        decoy=await asyncio.to_thread(DecoyHash, settings.bcrypt_cost),
        command_secrets=CommandSecrets(edge.command_keys),
    )
    facts = SignInFacts(
        secrets.totp_keys, secrets.decoy, secrets.command_secrets, settings.bcrypt_cost
    )
    store = _session_store(edge, database)
    await _register_actors(host, settings, core, facts, ActorSessions(store))
    services = _services(edge, sidecar, database, core, _Accounts(secrets, store))
    await record_groups(
        database, await registered_groups(database, settings.app_id, settings.groups)
    )
    services.ended_feed.start()
    # Customers' tokens are answered 503 until the ended sessions are known.
    await services.ended_feed.wait_current(within=5)
    log.info(
        "customer-service ready",
        environment=settings.environment,
        sidecar=settings.sidecar_url,
        tracing=settings.tracing_enabled,
    )
    return services


def _session_store(edge: Edge, database: asyncpg.Pool) -> SessionStore:
    settings = edge.settings
    return SessionStore(
        database,
        edge.ended_sessions,
        lifetime=timedelta(days=settings.refresh_token_days),
        grace=timedelta(seconds=settings.refresh_grace_seconds),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Accounts:
    """What sign-in keeps beside the documents: its secrets, the sessions."""

    secrets: SignInSecrets
    sessions: SessionStore


def _services(
    edge: Edge,
    sidecar: aiohttp.ClientSession,
    database: asyncpg.Pool,
    core: _Core,
    accounts: _Accounts,
) -> Services:
    settings = edge.settings
    stored = StoredCustomers(
        database, settings.app_id, CUSTOMER_KEY_PREFIX, wishlists_prefix=WISHLISTS_KEY_PREFIX
    )
    customers = CustomerActors(ActorClient(core.invoker, CUSTOMER), stored)
    throttles = Throttles(ThrottleStore(database), throttle_policy_of(settings))
    sessions = SessionFlows(accounts.sessions, edge.issuer, customers)
    background = Background()
    sign_in = SignIn(
        customers,
        core.keys,
        accounts.secrets,
        core.policy,
        settings.bcrypt_cost,
        throttles,
        sessions,
        background,
    )
    return Services(
        settings=settings,
        authenticator=edge.authenticator,
        sidecar=sidecar,
        database=database,
        customers=customers,
        keys=core.keys,
        sign_in=sign_in,
        step_up=StepUp(customers, accounts.secrets, throttles, settings.totp_issuer),
        sessions=sessions,
        background=background,
        ended_feed=EndedSessionsFeed(
            settings.database_url, edge.ended_sessions, edge.ended_sessions.keep
        ),
        segments=SegmentStore(database),
        exports=Exports(stored, database, throttles),
        lookups=Lookups(stored, database),
        wishlists=WishlistReads(stored),
        groups=GroupReads(database, settings.app_id, tuple(settings.groups)),
        group_actors=CustomerActors(ActorClient(core.invoker, GROUPS)),
    )


async def stop(services: Services) -> None:
    await services.background.drain(seconds=5)
    await services.ended_feed.close()
    await services.sidecar.close()
    process_exited()
    await services.database.close()
