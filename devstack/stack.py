"""The stack as a whole: shared infrastructure plus apps with their sidecars."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from devstack.processes import Process, free_port, http_ready, wait_until
from devstack.services import Placement, Postgres, Redis, Sidecar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPONENTS_DIR = PROJECT_ROOT / "components"


def render_components(dest: Path, postgres_dsn: str, redis_address: str) -> Path:
    """Copy components/ to ``dest``, pointed at the given Postgres and Redis.

    The files under test are the real ones; only addresses change.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for source in sorted(COMPONENTS_DIR.glob("*.yaml")):
        documents = [doc for doc in yaml.safe_load_all(source.read_text()) if doc]
        for doc in documents:
            for item in doc.get("spec", {}).get("metadata", None) or []:
                if doc.get("kind") != "Component":
                    continue
                if item["name"] == "connectionString":
                    item["value"] = postgres_dsn
                elif item["name"] == "redisHost":
                    item["value"] = redis_address
        (dest / source.name).write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return dest


@dataclasses.dataclass
class Infrastructure:
    """Postgres, Redis and placement: started here, or given by address."""

    postgres_dsn: str
    redis_address: str
    placement_address: str
    processes: list[Process] = dataclasses.field(default_factory=list)
    scratch: list[Path] = dataclasses.field(default_factory=list)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        for path in self.scratch:
            shutil.rmtree(path, ignore_errors=True)


def start_infrastructure(root: Path) -> Infrastructure:
    """Throwaway servers on free ports under ``root``.

    TEST_POSTGRES_DSN, TEST_REDIS_ADDRESS and TEST_PLACEMENT_ADDRESS point the
    suite at servers that already run (containers, a CI service) instead.
    """
    logs = root / "logs"
    infra = Infrastructure(
        postgres_dsn=os.environ.get("TEST_POSTGRES_DSN", ""),
        redis_address=os.environ.get("TEST_REDIS_ADDRESS", ""),
        placement_address=os.environ.get("TEST_PLACEMENT_ADDRESS", ""),
    )
    try:
        if not infra.postgres_dsn:
            # Its own folder directly under the temp dir: the postgres user must
            # be able to reach it, and pytest's folders are private to root.
            pg_data = Path(tempfile.mkdtemp(prefix="customer-service-pg-"))
            infra.scratch.append(pg_data)
            postgres = Postgres(pg_data, free_port(), logs, durable=False)
            infra.processes.append(postgres.start())
            infra.postgres_dsn = postgres.dsn()
        if not infra.redis_address:
            redis = Redis(root / "redis", free_port(), logs, durable=False)
            infra.processes.append(redis.start())
            infra.redis_address = redis.address
        if not infra.placement_address:
            placement = Placement(free_port(), free_port(), free_port(), free_port(), logs)
            infra.processes.append(placement.start())
            infra.placement_address = placement.address
    except BaseException:
        infra.stop()
        raise
    return infra


@dataclasses.dataclass
class App:
    """An app process and its daprd."""

    app_id: str
    app_url: str
    sidecar_url: str
    app: Process
    sidecar: Process
    sidecar_spec: Sidecar

    def stop(self) -> None:
        self.sidecar.stop()
        self.app.stop()

    def restart_sidecar(self) -> None:
        self.sidecar.stop()
        self.sidecar = self.sidecar_spec.start()
        self.sidecar_spec.wait_ready(self.sidecar)


def start_app(
    app_id: str,
    command: Sequence[str],
    infra: Infrastructure,
    root: Path,
    env: dict[str, Any] | None = None,
    ready_path: str = "/livez",
    port_variables: Sequence[str] = ("APP_PORT",),
    join_placement: bool = True,
    tokens: dict[str, str] | None = None,
) -> App:
    """Start ``command``, which serves the port named by ``port_variables``, and its daprd.

    ``tokens`` (APP_API_TOKEN, DAPR_API_TOKEN) go to both, as the injector and
    the Deployment arrange in Kubernetes.
    """
    logs = root / "logs"
    resources = render_components(
        root / f"components-{app_id}", infra.postgres_dsn, infra.redis_address
    )
    app_port = free_port()
    spec = Sidecar(
        app_id=app_id,
        app_port=app_port,
        http_port=free_port(),
        grpc_port=free_port(),
        internal_grpc_port=free_port(),
        metrics_port=free_port(),
        # Without placement the sidecar hosts no actors (and cannot disturb
        # the actor table of the other sidecars when it restarts).
        placement_address=infra.placement_address if join_placement else None,
        resources_dir=resources,
        config_file=resources / "config.yaml",
        log_dir=logs,
        env=dict(tokens or {}),
    )
    app_env = {
        **(tokens or {}),
        **dict.fromkeys(port_variables, str(app_port)),
        "DAPR_HTTP_PORT": str(spec.http_port),
        "DAPR_GRPC_PORT": str(spec.grpc_port),
        **{key: str(value) for key, value in (env or {}).items()},
    }
    app = Process(app_id, list(command), logs / f"{app_id}.log", env=app_env, cwd=PROJECT_ROOT)
    sidecar: Process | None = None
    try:
        # Together, as the injector does: the SDK's actor host waits at start-up
        # for the sidecar's outbound health, and daprd waits for the app port.
        app.start()
        sidecar = spec.start()
        app_url = f"http://127.0.0.1:{app_port}"
        wait_until(http_ready(app_url + ready_path), app, app_id, timeout=90)
        spec.wait_ready(sidecar)
    except BaseException:
        if sidecar is not None:
            sidecar.stop()
        app.stop()
        raise
    return App(app_id, app_url, spec.url, app, sidecar, spec)


def customer_service_command() -> list[str]:
    return [sys.executable, "-m", "service"]


CUSTOMER_PORT_VARIABLES = ("APP_PORT", "CUSTOMER_HTTP_PORT")


def customer_service_env(infra: Infrastructure) -> dict[str, str]:
    return {
        "CUSTOMER_ENVIRONMENT": "development",
        "CUSTOMER_DATABASE_DSN": infra.postgres_dsn,
        "CUSTOMER_LOG_LEVEL": "info",
    }
