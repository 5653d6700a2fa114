"""``python -m devstack run``: the local stack for ``make run``.

Starts Postgres and Redis (data kept in ./data, which survives restarts),
placement and scheduler, then the app with its sidecar, as the tests do:
every listener on loopback, Redis with a password, daprd with an API token.
Ctrl-C (or SIGTERM) stops every process it started, in reverse order.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from devstack.processes import Process, StartupError, port_in_use
from devstack.services import Placement, Postgres, Redis, Scheduler
from devstack.stack import (
    CUSTOMER_PORT_VARIABLES,
    PROJECT_ROOT,
    AppPorts,
    Infrastructure,
    customer_service_command,
    customer_service_companions,
    customer_service_env,
    start_app,
)
from readmodel.migrate import DEVELOPMENT_DSN, apply_migrations
from security.access_tokens import TokenIssuer

DATA = PROJECT_ROOT / "data"
LOGS = DATA / "logs"

# The usual local ports (docs/architecture.md); each control-plane part gets its own
# healthz and metrics port (both default to 8080/9090).
POSTGRES_PORT = 5432
REDIS_PORT = 6379
PLACEMENT = Placement(
    port=50005, healthz_port=8085, metrics_port=9095, raft_port=8201, log_dir=LOGS
)
SCHEDULER = Scheduler(
    port=50006,
    healthz_port=8086,
    metrics_port=9096,
    etcd_client_port=2379,
    etcd_peer_port=2380,
    data_dir=DATA / "scheduler",
    log_dir=LOGS,
)
APP = AppPorts(app=8003, http=3500, grpc=50001, internal_grpc=50002, metrics=9091)


def _check_ports_free() -> None:
    wanted = {
        "postgres": POSTGRES_PORT,
        "redis": REDIS_PORT,
        "placement": PLACEMENT.port,
        "scheduler": SCHEDULER.port,
        "app": APP.app,
        "daprd http": APP.http,
        "daprd grpc": APP.grpc,
        "daprd internal grpc": APP.internal_grpc,
        "daprd metrics": APP.metrics,
    }
    busy = [f"{name} ({port})" for name, port in wanted.items() if port_in_use(port)]
    if busy:
        raise StartupError(
            "ports already in use: " + ", ".join(busy) + ". Is another `make run` (or a "
            "system Postgres/Redis) running? Stop it and try again."
        )


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# What the local run keeps in ./data/dev-secrets.json: keys, so that sealed 2FA
# secrets still open after a restart, and the tokens a developer needs to call
# the sidecar (DAPR_API_TOKEN) or Redis.
_DEV_SECRETS: dict[str, Callable[[], str]] = {
    "CUSTOMER_JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "CUSTOMER_TOTP_KEYS": lambda: f"dev1:{_key()}",
    "CUSTOMER_NOTIFICATION_KEYS": lambda: f"dev1:{_key()}",
    "CUSTOMER_COMMAND_KEYS": lambda: f"dev1:{_key()}",
    "CUSTOMER_EVENT_KEYS": lambda: f"dev1:{_key()}",
    "APP_API_TOKEN": lambda: secrets.token_urlsafe(32),
    "DAPR_API_TOKEN": lambda: secrets.token_urlsafe(32),
    "REDIS_PASSWORD": lambda: secrets.token_urlsafe(24),
}


def _dev_secrets() -> dict[str, str]:
    path = DATA / "dev-secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = {name: make() for name, make in _DEV_SECRETS.items() if name not in stored}
    if missing:
        stored.update(missing)
        DATA.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only from the first byte on.
        partial = path.with_suffix(".tmp")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(stored, indent=1))
        partial.replace(path)
    return stored


def _admin_token(jwt_secret: str) -> str:
    issuer = TokenIssuer(jwt_secret, "customer-service", "shop", timedelta(hours=12))
    return issuer.issue("developer", ["admin"], datetime.now(UTC))


def run() -> int:
    _check_ports_free()
    started: list[Process] = []
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    dev = _dev_secrets()
    try:
        started.append(Postgres(DATA / "postgres", POSTGRES_PORT, LOGS).start())
        applied = apply_migrations(DEVELOPMENT_DSN)
        print(f"devstack: read model migrations applied: {len(applied)}", flush=True)
        redis = Redis(DATA / "redis", REDIS_PORT, LOGS, password=dev["REDIS_PASSWORD"])
        started.append(redis.start())
        started.append(PLACEMENT.start())
        started.append(SCHEDULER.start())
        print(f"devstack: postgres, redis, placement, scheduler up (logs in {LOGS})", flush=True)
        infra = Infrastructure(
            postgres_dsn=DEVELOPMENT_DSN,
            redis_address=redis.address,
            placement_address=PLACEMENT.address,
            redis_password=dev["REDIS_PASSWORD"],
        )
        app = start_app(
            "customer-service",
            customer_service_command(),
            infra,
            DATA,
            env={
                **customer_service_env(infra),
                **{name: value for name, value in dev.items() if name.startswith("CUSTOMER_")},
            },
            port_variables=CUSTOMER_PORT_VARIABLES,
            companions=customer_service_companions(),
            tokens={name: dev[name] for name in ("APP_API_TOKEN", "DAPR_API_TOKEN")},
            ports=APP,
            app_health_path="/livez",
            log_to_console=True,
            scheduler_address=SCHEDULER.address,
        )
        started += [app.app, app.sidecar, *app.companions]
        print(
            "devstack: customer-service on http://localhost:8003 "
            "(health: /api/v1/customers/health), its sidecar on http://localhost:3500 "
            f"(dapr-api-token: DAPR_API_TOKEN in {DATA / 'dev-secrets.json'}); "
            "Ctrl-C stops everything\n"
            "devstack: an admin access token for 12 h (Authorization: Bearer ...):\n"
            f"{_admin_token(dev['CUSTOMER_JWT_SECRET'])}",
            flush=True,
        )
        while not stop.wait(0.5):
            for process in (app.app, app.sidecar, *app.companions):
                if not process.alive():
                    print(f"devstack: {process.name} exited; stopping", file=sys.stderr)
                    return 1
        return 0
    finally:
        for process in reversed(started):
            process.stop()
        print("devstack: stopped", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    try:
        return run()
    except StartupError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
