"""The application factory: HTTP API, actor host, and their shared resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dapr.ext.fastapi import DaprActor
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from observability.tracing import configure_tracing
from service import bootstrap, problems
from service.actor_guard import ActorCallGuard
from service.api import (
    addresses,
    customers,
    erasure,
    groups,
    health,
    metrics,
    preferences,
    segments,
    wishlists,
)
from service.api import auth as auth_routes
from service.api import sessions as session_routes
from service.body_guard import BodyGuard
from service.dependencies import Services
from service.gate import CallerGate
from service.middleware import REBALANCE_EVERY, EdgeMiddleware
from service.origin import SIDECAR_ONLY_PREFIXES
from service.query_params import reject_unknown_query_parameters
from service.settings import Settings, get_settings

# No request body of the API nests deeper (free-form JSON stops at 8 inside its field).
MAX_BODY_DEPTH = 32


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[dict[str, Services]]:
    assert isinstance(app, CustomerServiceApp)
    services = await bootstrap.start(app.edge, app.actor_host)
    try:
        # Lifespan state: every request's state carries the services.
        yield {"services": services}
    finally:
        await bootstrap.stop(services)


class CustomerServiceApp(FastAPI):
    """FastAPI with the actor host, and the edge layer outside everything else.

    Starlette's ServerErrorMiddleware, which answers the 500s, is the outermost
    layer of a stack built by ``add_middleware``: headers added by a middleware
    inside it never reach a 500. Wrapping the whole stack puts them on every
    answer, however it was made (service/middleware.py).
    """

    def __init__(self, edge: bootstrap.Edge) -> None:
        super().__init__(
            title="Customer Service",
            version=edge.settings.service_version,
            lifespan=_lifespan,
            docs_url="/api/v1/customers/docs",
            openapi_url="/api/v1/customers/openapi.json",
            # Unknown query parameters are refused on every route that takes some.
            dependencies=[Depends(reject_unknown_query_parameters)],
        )
        self.edge = edge
        # Mounts /dapr/config and /actors/... for the sidecar (and its own /healthz).
        self.actor_host = DaprActor(self)

    def build_middleware_stack(self) -> ASGIApp:
        processes = self.edge.settings.http_workers
        return EdgeMiddleware(
            super().build_middleware_stack(),
            rebalance_every=REBALANCE_EVERY if processes > 1 else 0,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    edge = bootstrap.edge(settings or get_settings())
    app = CustomerServiceApp(edge)
    problems.install(app)
    for router in (
        health.router,
        auth_routes.router,
        session_routes.router,
        customers.router,
        erasure.router,
        addresses.router,
        preferences.router,
        segments.router,
        wishlists.router,
        groups.router,
    ):
        app.include_router(router)
    if edge.settings.metrics_enabled:
        app.include_router(metrics.router)
    _add_middleware(app, edge)
    if edge.settings.tracing_enabled:
        configure_tracing(app, edge.settings.service_version)
    return app


def _add_middleware(app: FastAPI, edge: bootstrap.Edge) -> None:
    """Innermost first. A request meets the edge (service/middleware.py), then the
    gate (where did it come from, may it come in?), the body limits, and for
    actor calls the signature check."""
    settings = edge.settings
    app.add_middleware(ActorCallGuard, keys=edge.command_keys)
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
        bearer_is_valid=edge.authenticator.bearer_is_valid,
        trusted_proxies=settings.trusted_proxies,
    )
