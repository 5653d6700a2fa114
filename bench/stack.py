"""The stack the bench measures: the README's own configuration (what `make run`
starts: durable Postgres and Redis, the API and worker processes, daprd with
its app health check), on throwaway ports and folders."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import secrets
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack.processes import Process, free_port, http_ready, wait_until
from devstack.stack import (
    CUSTOMER_PORT_VARIABLES,
    HTTP_WORKERS,
    App,
    Infrastructure,
    customer_service_command,
    customer_service_companions,
    customer_service_env,
    new_tokens,
    start_app,
    start_infrastructure,
)
from readmodel.migrate import apply_migrations
from security.access_tokens import TokenIssuer
from security.macs import MacKeyring


def _ring(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


@dataclasses.dataclass
class BenchStack:
    infra: Infrastructure
    app: App
    admin_token: str
    api_token: str
    command_keys: MacKeyring
    root: Path


@contextlib.contextmanager
def bench_stack() -> Iterator[BenchStack]:
    root = Path(tempfile.mkdtemp(prefix="customer-service-bench-"))
    print(f"bench: starting the stack (logs in {root}/logs)", file=sys.stderr)
    infra = start_infrastructure(root, durable=True)
    jwt_secret, command_ring = secrets.token_urlsafe(48), _ring("c1")
    tokens = new_tokens()
    try:
        apply_migrations(infra.postgres_dsn)
        env = {
            **customer_service_env(infra),
            "CUSTOMER_JWT_SECRET": jwt_secret,
            "CUSTOMER_COMMAND_KEYS": command_ring,
            "CUSTOMER_EVENT_KEYS": _ring("e1"),
            "CUSTOMER_TOTP_KEYS": _ring("t1"),
            "CUSTOMER_NOTIFICATION_KEYS": _ring("n1"),
        }
        app = start_app(
            "customer-service",
            customer_service_command(),
            infra,
            root,
            env=env,
            port_variables=CUSTOMER_PORT_VARIABLES,
            companions=customer_service_companions(),
            tokens=tokens,
            app_health_path="/livez",
        )
        try:
            issuer = TokenIssuer(jwt_secret, "customer-service", "shop", timedelta(hours=12))
            yield BenchStack(
                infra,
                app,
                issuer.issue("bench", ["admin"], datetime.now(UTC)),
                tokens["DAPR_API_TOKEN"],
                MacKeyring.parse(command_ring),
                root,
            )
        finally:
            app.stop()
    finally:
        infra.stop()


@contextlib.contextmanager
def baseline_app(dsn: str, root: Path) -> Iterator[str]:
    """The bare ASGI app (bench/baseline_app.py) on a free port; its URL."""
    port = free_port()
    process = Process(
        "baseline",
        [sys.executable, "-m", "bench.baseline_app", str(port), dsn, str(HTTP_WORKERS)],
        root / "logs" / "baseline.log",
    ).start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(http_ready(url + "/x/none"), process, "baseline app", timeout=30)
        yield url
    finally:
        process.stop()
