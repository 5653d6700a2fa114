"""The application factory: HTTP API, actor host, and their shared resources."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
from dapr.actor import ActorId
from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.context import ActorRuntimeContext
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from actors.claim_store import ClaimStore
from actors.customer_actor import Customer
from actors.document_store import DocumentStore
from actors.invoker import ActorInvoker
from actors.key_claims import KeyClaims
from actors.serialization import PlainJSONSerializer
from actors.sign_in import SignInFacts
from actors.unique_key_actor import UniqueKey
from domain.policy import Policy
from observability.logging import get_logger
from observability.metrics import process_exited
from observability.tracing import configure_tracing
from security.access_tokens import TokenIssuer
from security.command_secrets import CommandSecrets
from security.passwords import DecoyHash
from service import problems
from service.actor_guard import ActorCallGuard
from service.api import addresses, customers, health, metrics, preferences, segments
from service.api import auth as auth_routes
from service.auth import Authenticator
from service.body_guard import BodyGuard
from service.dependencies import AuthServices, Resources
from service.gate import CallerGate
from service.middleware import ObservabilityMiddleware, SecurityHeadersMiddleware
from service.origin import SIDECAR_ONLY_PREFIXES
from service.publisher import Publisher
from service.query_params import reject_unknown_query_parameters
from service.segment_jobs import SegmentJobs
from service.settings import Settings, get_settings
from service.sidecar import make_sidecar_session

log = get_logger(__name__)

CUSTOMER_KEY_PREFIX = "customer"
# No request body of the API nests deeper (free-form JSON stops at 8 inside its field).
MAX_BODY_DEPTH = 32


async def _record_groups(database: asyncpg.Pool, settings: Settings) -> None:
    """Write the configured groups to the read model (a list for reports and joins)."""
    groups = list(settings.groups)
    try:
        async with database.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM customer_groups WHERE NOT (id = ANY($1))", groups)
            await conn.executemany(
                "INSERT INTO customer_groups (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
                [(group,) for group in groups],
            )
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("could not record the customer groups", error=type(exc).__name__)


class CustomerServiceApp(FastAPI):
    """FastAPI with the security headers outside everything else.

    Starlette's ServerErrorMiddleware, which answers the 500s, is the outermost
    layer of a stack built by ``add_middleware``: headers added by a middleware
    inside it never reach a 500. Wrapping the whole stack puts them on every
    answer, however it was made.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sidecar = make_sidecar_session(settings)
        # min_size=0: start even while Postgres is down; health reports it.
        database = await asyncpg.create_pool(
            settings.database_url,
            min_size=0,
            max_size=settings.database_pool_size,
            command_timeout=5,
        )
        event_keys = settings.mac_keyring("event")
        store = DocumentStore(sidecar, settings.state_store, CUSTOMER_KEY_PREFIX, event_keys)
        claims = ClaimStore(sidecar, settings.state_store)
        invoker = ActorInvoker(sidecar, command_keys)
        keys = KeyClaims(invoker, claims)
        policy = Policy(
            customer_groups=frozenset(settings.groups),
            default_customer_group=settings.default_group,
            max_addresses=settings.max_addresses,
        )

        # A decoy hash at the configured cost: unknown emails take as long as known ones.
        decoy = await asyncio.to_thread(DecoyHash, settings.bcrypt_cost)
        auth = AuthServices(
            issuer=issuer,
            totp_keys=settings.keyring("totp"),
            notification_keys=settings.keyring("notification"),
            decoy=decoy,
            policy=policy,
            command_secrets=CommandSecrets(command_keys),
        )
        sign_in = SignInFacts(auth.totp_keys, decoy, auth.command_secrets)

        def customer_factory(ctx: ActorRuntimeContext, actor_id: ActorId) -> Customer:
            return Customer(ctx, actor_id, store, keys, policy, sign_in)

        def unique_key_factory(ctx: ActorRuntimeContext, actor_id: ActorId) -> UniqueKey:
            return UniqueKey(ctx, actor_id, claims, store)

        ActorRuntime.set_actor_config(
            ActorRuntimeConfig(
                actor_idle_timeout=timedelta(seconds=settings.actor_idle_timeout_seconds),
                actor_scan_interval=timedelta(seconds=settings.actor_scan_interval_seconds),
                drain_ongoing_call_timeout=timedelta(seconds=20),
                drain_rebalanced_actors=True,
            )
        )
        serializer = PlainJSONSerializer()
        await actor_host.register_actor(
            Customer,
            message_serializer=serializer,
            state_serializer=serializer,
            actor_factory=customer_factory,
        )
        await actor_host.register_actor(
            UniqueKey,
            message_serializer=serializer,
            state_serializer=serializer,
            actor_factory=unique_key_factory,
        )
        publisher = Publisher(sidecar, settings.pubsub, event_keys, settings.app_id)
        app.state.resources = Resources(
            settings=settings,
            sidecar=sidecar,
            actors=invoker,
            database=database,
            auth=auth,
            keys=keys,
            publisher=publisher,
            event_keys=event_keys,
        )
        app.state.segment_jobs = SegmentJobs(database, publisher, settings.events_topic)
        await _record_groups(database, settings)
        await app.state.segment_jobs.resume()
        log.info(
            "customer-service ready",
            environment=settings.environment,
            sidecar=settings.sidecar_url,
            tracing=settings.tracing_enabled,
        )
        try:
            yield
        finally:
            await app.state.segment_jobs.close()
            await sidecar.close()
            process_exited()
            await database.close()

    command_keys = settings.mac_keyring("command")
    issuer = TokenIssuer(
        secret=settings.signing_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    app = CustomerServiceApp(
        title="Customer Service",
        version=settings.service_version,
        lifespan=lifespan,
        docs_url="/api/v1/customers/docs",
        openapi_url="/api/v1/customers/openapi.json",
        # Unknown query parameters are refused on every route that takes some.
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    # Mounts /dapr/config and /actors/... for the sidecar (and its own /healthz).
    actor_host = DaprActor(app)
    problems.install(app)
    app.include_router(health.router)
    authenticator = Authenticator(issuer)
    app.state.authenticator = authenticator
    app.include_router(auth_routes.router)
    app.include_router(customers.router)
    app.include_router(addresses.router)
    app.include_router(preferences.router)
    app.include_router(segments.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    # Innermost first. A request meets observability, then the gate (where did
    # it come from, may it come in?), the body limits, and for actor calls the
    # signature check.
    app.add_middleware(ActorCallGuard, keys=command_keys)
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        internal_max_bytes=settings.max_internal_body_bytes,
        internal_prefixes=SIDECAR_ONLY_PREFIXES,
        max_depth=MAX_BODY_DEPTH,
    )
    app.add_middleware(
        CallerGate,
        app_token=settings.app_api_token.get_secret_value() if settings.app_api_token else None,
        app_id=settings.app_id,
        callers=settings.service_callers,
        bearer_is_valid=authenticator.bearer_is_valid,
    )
    app.add_middleware(ObservabilityMiddleware)
    if settings.tracing_enabled:
        configure_tracing(app, settings.service_version)
    return app
