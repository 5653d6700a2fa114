"""The customer service as the tests run it, on the shared stack or on one of its own.

Kills, outages and short idle timeouts run on a stack of their own (own
Postgres, Redis and placement), never on the shared one.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path

from devstack.stack import (
    CUSTOMER_PORT_VARIABLES,
    App,
    Infrastructure,
    customer_service_command,
    customer_service_companions,
    customer_service_env,
    start_app,
    start_infrastructure,
)
from domain.throttles import Action
from readmodel.migrate import apply_migrations
from tests.support.credentials import (
    COMMAND_KEYRING,
    EVENT_KEYRING,
    JWT_SECRET,
    NOTIFICATION_KEY,
    SERVICE_CALLERS,
    TOTP_KEY,
)

HIGH_LIMIT = 1_000_000
# A refresh token replaced this recently is taken once more (production: 5 s).
REFRESH_GRACE_SECONDS = 2
# An erasure asked for waits this long (production: 30 days).
ERASURE_GRACE_SECONDS = 6
ERASURE_SWEEP_LAG_SECONDS = 60


def customer_service_test_env(infra: Infrastructure) -> dict[str, str]:
    return {
        **customer_service_env(infra),
        "CUSTOMER_JWT_SECRET": JWT_SECRET,
        "CUSTOMER_TOTP_KEYS": "t1:" + base64.b64encode(TOTP_KEY).decode(),
        "CUSTOMER_NOTIFICATION_KEYS": f"n1:{NOTIFICATION_KEY}",
        "CUSTOMER_COMMAND_KEYS": COMMAND_KEYRING,
        "CUSTOMER_EVENT_KEYS": EVENT_KEYRING,
        "CUSTOMER_SERVICE_CALLERS": SERVICE_CALLERS,
        # The worker reports, beats and reconciles faster than in production.
        "CUSTOMER_STATUS_SECONDS": "1",
        "CUSTOMER_HEARTBEAT_SECONDS": "1",
        "CUSTOMER_RECONCILE_GRACE_SECONDS": "2",
        "CUSTOMER_RECONCILE_PAUSE_SECONDS": "0.2",
        # Fast hashes for the suite (development only; production needs >= 10).
        "CUSTOMER_BCRYPT_COST": "4",
        # Every request of the suite comes from 127.0.0.1: the shared stack's rate
        # limits are out of reach (throttles are tested on an app of their own).
        "CUSTOMER_RATE_LIMITS": ",".join(
            f"{action}={HIGH_LIMIT}/{HIGH_LIMIT}" for action in Action
        ),
        "CUSTOMER_LOCKOUT_MINUTES": "1",
        "CUSTOMER_REFRESH_GRACE_SECONDS": str(REFRESH_GRACE_SECONDS),
        "CUSTOMER_ERASURE_GRACE_DAYS": repr(ERASURE_GRACE_SECONDS / 86400),
        # The sweep's backup comes well after the reminder, which the tests watch.
        "CUSTOMER_ERASURE_SWEEP_LAG_SECONDS": str(ERASURE_SWEEP_LAG_SECONDS),
    }


def start_customer_service(
    infra: Infrastructure,
    root: Path,
    env: dict[str, str] | None = None,
    tokens: dict[str, str] | None = None,
    app_id: str = "customer-service",
    app_health_path: str | None = None,
    log_dir: Path | None = None,
) -> App:
    """``app_health_path`` (``/livez`` in Kubernetes and ``make run``) makes daprd
    probe the app; ``log_dir`` keeps a second replica's logs apart."""
    return start_app(
        app_id,
        customer_service_command(),
        infra,
        root,
        env={**customer_service_test_env(infra), **(env or {})},
        port_variables=CUSTOMER_PORT_VARIABLES,
        companions=customer_service_companions(app_id),
        tokens=tokens,
        app_health_path=app_health_path,
        log_dir=log_dir,
    )


@contextlib.contextmanager
def own_stack(
    root: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[Infrastructure, App]]:
    """A whole stack for one test module: its own servers, the service, its worker."""
    infra = start_infrastructure(root)
    try:
        apply_migrations(infra.postgres_dsn)
        app = start_customer_service(infra, root, env)
        try:
            yield infra, app
        finally:
            app.stop()
    finally:
        infra.stop()
