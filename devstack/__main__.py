"""``python -m devstack run``: the local stack for ``make run``.

Starts Postgres and Redis (data kept in ./data, which survives restarts),
placement and scheduler, then the app with its sidecar through the Dapr CLI
(``dapr run -f dapr.yaml``). Ctrl-C (or SIGTERM) stops every process it
started, in reverse order.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from devstack.processes import Process, StartupError, port_in_use
from devstack.services import DAPR_BIN, Placement, Postgres, Redis, Scheduler
from devstack.stack import PROJECT_ROOT
from readmodel.migrate import DEVELOPMENT_DSN, apply_migrations
from security.access_tokens import TokenIssuer

DATA = PROJECT_ROOT / "data"
LOGS = DATA / "logs"

# The usual local ports (DESIGN.md); each control-plane part gets its own
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
APP_PORTS = {"app": 8003, "daprd http": 3500, "daprd grpc": 50001, "daprd metrics": 9091}


def _check_ports_free() -> None:
    wanted = {
        "postgres": POSTGRES_PORT,
        "redis": REDIS_PORT,
        "placement": PLACEMENT.port,
        "scheduler": SCHEDULER.port,
        **APP_PORTS,
    }
    busy = [f"{name} ({port})" for name, port in wanted.items() if port_in_use(port)]
    if busy:
        raise StartupError(
            "ports already in use: " + ", ".join(busy) + ". Is another `make run` (or a "
            "system Postgres/Redis) running? Stop it and try again."
        )


def _dev_secrets() -> dict[str, str]:
    """Signing and sealing keys for the local run, kept in ./data so that
    sealed 2FA secrets still open after a restart."""
    path = DATA / "dev-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    created = {
        "CUSTOMER_JWT_SECRET": secrets.token_urlsafe(48),
        "CUSTOMER_TOTP_KEYS": f"dev1:{key()}",
        "CUSTOMER_NOTIFICATION_KEYS": f"dev1:{key()}",
    }
    DATA.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(created))
    path.chmod(0o600)
    return created


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
    dev_secrets = _dev_secrets()
    try:
        started.append(Postgres(DATA / "postgres", POSTGRES_PORT, LOGS).start())
        applied = apply_migrations(DEVELOPMENT_DSN)
        print(f"devstack: read model migrations applied: {len(applied)}", flush=True)
        started.append(Redis(DATA / "redis", REDIS_PORT, LOGS).start())
        started.append(PLACEMENT.start())
        started.append(SCHEDULER.start())
        print(f"devstack: postgres, redis, placement, scheduler up (logs in {LOGS})", flush=True)
        dapr = Process(
            "dapr run",
            [str(DAPR_BIN / "dapr"), "run", "-f", "dapr.yaml"],
            LOGS / "dapr-run.log",
            env={
                # CLI 1.12 has no scheduler flag; daprd reads this when none is given.
                "DAPR_SCHEDULER_HOST_ADDRESS_DNS_A": SCHEDULER.address,
                # daprd presents it on calls to the app; the app requires it on its
                # actor routes. A new one each run: nobody else needs to know it.
                "APP_API_TOKEN": secrets.token_urlsafe(32),
                **dev_secrets,
            },
            cwd=PROJECT_ROOT,
            log_to_console=True,
        ).start()
        started.append(dapr)
        print(
            "devstack: customer-service on http://localhost:8003 "
            "(health: /api/v1/customers/health); Ctrl-C stops everything\n"
            "devstack: an admin access token for 12 h (Authorization: Bearer ...):\n"
            f"{_admin_token(dev_secrets['CUSTOMER_JWT_SECRET'])}",
            flush=True,
        )
        while not stop.wait(0.5):
            if not dapr.alive():
                print("devstack: `dapr run` exited; stopping", file=sys.stderr, flush=True)
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
