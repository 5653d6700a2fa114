"""The stack as a whole: shared infrastructure plus apps with their sidecars."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from devstack.processes import Process, StartupError, free_port, http_ready, wait_until
from devstack.services import Placement, Postgres, Redis, Scheduler, Sidecar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPONENTS_DIR = PROJECT_ROOT / "components"


PUBSUB = "customer-pubsub"
MAX_LEN_VARIABLE = "CUSTOMER_PUBSUB_MAX_LEN"


def render_components(
    dest: Path,
    postgres_dsn: str,
    redis_address: str,
    redis_password: str = "",
    subscribers: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Copy components/ to ``dest``, pointed at the given Postgres and Redis.

    The files under test are the real ones; only addresses and credentials
    change, and ``subscribers`` (app id -> topics) are granted subscriptions on
    the customer pub/sub, as an operator adds a consumer.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for source in sorted(COMPONENTS_DIR.glob("*.yaml")):
        documents = [doc for doc in yaml.safe_load_all(source.read_text()) if doc]
        for doc in documents:
            if doc.get("kind") != "Component":
                continue
            for item in doc.get("spec", {}).get("metadata", None) or []:
                if item["name"] == "connectionString":
                    item["value"] = postgres_dsn
                elif item["name"] == "redisHost":
                    item["value"] = redis_address
                elif item["name"] == "redisPassword":
                    item["value"] = redis_password
            if doc["metadata"]["name"] == PUBSUB and subscribers:
                _grant_subscriptions(doc, subscribers)
            if doc["metadata"]["name"] == PUBSUB and (max_len := os.environ.get(MAX_LEN_VARIABLE)):
                # How many events the topic keeps (README "Data protection").
                for item in doc["spec"]["metadata"]:
                    if item["name"] == "maxLenApprox":
                        item["value"] = str(int(max_len))
        for doc in documents:
            resolution = doc.get("spec", {}).get("nameResolution")
            if doc.get("kind") == "Configuration" and resolution:
                # One file per stack: its sidecars find each other, no one else's.
                resolution["configuration"]["connectionString"] = str(
                    dest.parent / "nameresolution.db"
                )
        rendered = yaml.safe_dump_all(documents, sort_keys=False)
        target = dest / source.name
        # daprd hot-reloads what it watches (a changed Configuration restarts its
        # whole runtime): a second replica rendering the same files leaves them be.
        if not target.exists() or target.read_text() != rendered:
            target.write_text(rendered)
    return dest


def _grant_subscriptions(
    component: dict[str, Any], subscribers: Mapping[str, Sequence[str]]
) -> None:
    for item in component["spec"]["metadata"]:
        if item["name"] == "subscriptionScopes":
            grants = [f"{app}={','.join(topics)}" for app, topics in subscribers.items()]
            item["value"] = ";".join([item["value"], *grants])
    scopes = component.setdefault("scopes", [])
    scopes.extend(app for app in subscribers if app not in scopes)


@dataclasses.dataclass
class Infrastructure:
    """Postgres, Redis, placement and the scheduler: started here, or given by address."""

    postgres_dsn: str
    redis_address: str
    placement_address: str
    redis_password: str = ""
    # Actor reminders (the erasure deadlines) live in the scheduler; "" for none.
    scheduler_address: str = ""
    processes: list[Process] = dataclasses.field(default_factory=list)
    scratch: list[Path] = dataclasses.field(default_factory=list)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        for path in self.scratch:
            shutil.rmtree(path, ignore_errors=True)


def start_infrastructure(root: Path, durable: bool = False) -> Infrastructure:
    """Throwaway servers on free ports under ``root``.

    TEST_POSTGRES_DSN, TEST_REDIS_ADDRESS (with TEST_REDIS_PASSWORD),
    TEST_PLACEMENT_ADDRESS and TEST_SCHEDULER_ADDRESS point the suite at servers
    that already run (containers, a CI service) instead. ``durable``: Postgres with fsync and
    Redis with an append-only file, as `make run` keeps them.
    """
    logs = root / "logs"
    infra = Infrastructure(
        postgres_dsn=os.environ.get("TEST_POSTGRES_DSN", ""),
        redis_address=os.environ.get("TEST_REDIS_ADDRESS", ""),
        placement_address=os.environ.get("TEST_PLACEMENT_ADDRESS", ""),
        redis_password=os.environ.get("TEST_REDIS_PASSWORD", ""),
        scheduler_address=os.environ.get("TEST_SCHEDULER_ADDRESS", ""),
    )
    try:
        if not infra.postgres_dsn:
            # Its own folder directly under the temp dir: the postgres user must
            # be able to reach it, and pytest's folders are private to root.
            pg_data = Path(tempfile.mkdtemp(prefix="customer-service-pg-"))
            infra.scratch.append(pg_data)
            postgres = Postgres(pg_data, free_port(), logs, durable=durable)
            infra.processes.append(postgres.start())
            infra.postgres_dsn = postgres.dsn()
        if not infra.redis_address:
            infra.redis_password = secrets.token_urlsafe(24)
            redis = Redis(
                root / "redis", free_port(), logs, durable=durable, password=infra.redis_password
            )
            infra.processes.append(redis.start())
            infra.redis_address = redis.address
        if not infra.placement_address:
            placement = Placement(free_port(), free_port(), free_port(), free_port(), logs)
            infra.processes.append(placement.start())
            infra.placement_address = placement.address
        if not infra.scheduler_address:
            scheduler = Scheduler(
                *(free_port(), free_port(), free_port(), free_port(), free_port()),
                data_dir=root / "scheduler",
                log_dir=logs,
            )
            infra.processes.append(scheduler.start())
            infra.scheduler_address = scheduler.address
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
    # Processes of the same replica beside the app, sharing its sidecar.
    companions: list[Process] = dataclasses.field(default_factory=list)

    def stop(self) -> None:
        for companion in self.companions:
            companion.stop()
        self.sidecar.stop()
        self.app.stop()

    def restart_sidecar(self) -> None:
        self.sidecar.stop()
        self.sidecar = self.sidecar_spec.start()
        self.sidecar_spec.wait_ready(self.sidecar)


@dataclasses.dataclass(frozen=True, slots=True)
class AppPorts:
    app: int
    http: int
    grpc: int
    internal_grpc: int
    metrics: int

    @classmethod
    def free(cls) -> AppPorts:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port())


def new_tokens() -> dict[str, str]:
    """The app token (sidecar -> app) and API token (anyone -> sidecar)."""
    return {
        "APP_API_TOKEN": secrets.token_urlsafe(32),
        "DAPR_API_TOKEN": secrets.token_urlsafe(32),
    }


def sidecar_for(
    app_id: str,
    infra: Infrastructure,
    root: Path,
    ports: AppPorts,
    tokens: dict[str, str],
    join_placement: bool = True,
    subscribers: Mapping[str, Sequence[str]] | None = None,
    app_health_path: str | None = None,
    scheduler_address: str | None = None,
    log_dir: Path | None = None,
) -> Sidecar:
    """daprd for ``app_id``: loopback only, an API token always, the project's components.

    ``log_dir`` (default ``root/logs``): replicas of one app id need one each.
    """
    resources = render_components(
        root / f"components-{app_id}",
        infra.postgres_dsn,
        infra.redis_address,
        infra.redis_password,
        subscribers,
    )
    return Sidecar(
        app_id=app_id,
        app_port=ports.app,
        http_port=ports.http,
        grpc_port=ports.grpc,
        internal_grpc_port=ports.internal_grpc,
        metrics_port=ports.metrics,
        # Without placement the sidecar hosts no actors (and cannot disturb
        # the actor table of the other sidecars when it restarts).
        placement_address=infra.placement_address if join_placement else None,
        resources_dir=resources,
        config_file=resources / "config.yaml",
        log_dir=log_dir or root / "logs",
        app_health_path=app_health_path,
        scheduler_address=scheduler_address,
        env=dict(tokens),
    )


# Ports are picked free, then bound by another process a moment later: on a
# busy machine something else may take one in between. Such a start is tried
# again on new ports.
_PORT_TAKEN = ("address already in use", "could not listen on any endpoint")
_PORT_ATTEMPTS = 3


def _port_was_taken(error: StartupError) -> bool:
    return any(sign in str(error).lower() for sign in _PORT_TAKEN)


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
    ports: AppPorts | None = None,
    subscribers: Mapping[str, Sequence[str]] | None = None,
    app_health_path: str | None = None,
    log_to_console: bool = False,
    scheduler_address: str | None = None,
    companions: Sequence[tuple[str, Sequence[str]]] = (),
    log_dir: Path | None = None,
) -> App:
    """Start ``command``, which serves the port named by ``port_variables``, and its daprd.

    ``tokens`` (APP_API_TOKEN, DAPR_API_TOKEN; fresh ones if not given) go to
    both, as the injector and the Deployment arrange in Kubernetes. Logs go to
    ``log_dir`` (default ``root/logs``; a second replica of one app id needs its
    own, while ``root`` stays shared: its sidecars find each other through it).
    """
    tokens = tokens or new_tokens()
    for attempt in range(_PORT_ATTEMPTS):
        try:
            return _start_app(
                app_id, command, infra, root, env, ready_path, port_variables,
                join_placement, tokens, ports or AppPorts.free(), subscribers,
                app_health_path, log_to_console, scheduler_address, companions,
                log_dir or root / "logs",
            )  # fmt: skip
        except StartupError as error:
            if ports is not None or attempt + 1 == _PORT_ATTEMPTS or not _port_was_taken(error):
                raise
    raise AssertionError("unreachable")


def _start_app(
    app_id: str,
    command: Sequence[str],
    infra: Infrastructure,
    root: Path,
    env: dict[str, Any] | None,
    ready_path: str,
    port_variables: Sequence[str],
    join_placement: bool,
    tokens: dict[str, str],
    ports: AppPorts,
    subscribers: Mapping[str, Sequence[str]] | None,
    app_health_path: str | None,
    log_to_console: bool,
    scheduler_address: str | None,
    companions: Sequence[tuple[str, Sequence[str]]],
    log_dir: Path,
) -> App:
    spec = sidecar_for(
        app_id,
        infra,
        root,
        ports,
        tokens,
        join_placement,
        subscribers,
        app_health_path,
        # A sidecar that hosts actors keeps their reminders in the scheduler.
        scheduler_address or (infra.scheduler_address if join_placement else "") or None,
        log_dir,
    )
    # One metrics folder per replica: its processes add up in one scrape.
    metrics = root / f"metrics-{app_id}-{ports.app}"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    app_env = {
        **tokens,
        **dict.fromkeys(port_variables, str(ports.app)),
        "DAPR_HTTP_PORT": str(spec.http_port),
        "DAPR_GRPC_PORT": str(spec.grpc_port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "CUSTOMER_REPLICA_ID": f"{app_id}-{ports.app}",
        **{key: str(value) for key, value in (env or {}).items()},
    }

    def process(name: str, argv: Sequence[str]) -> Process:
        """A process of this replica: its settings, its log."""
        log = log_dir / f"{name}.log"
        return Process(
            name, list(argv), log, env=app_env, cwd=PROJECT_ROOT, log_to_console=log_to_console
        )

    app = process(app_id, command)
    sidecar: Process | None = None
    try:
        # Together, as the injector does: the SDK's actor host waits at start-up
        # for the sidecar's outbound health, and daprd waits for the app port.
        app.start()
        sidecar = spec.start()
        app_url = f"http://127.0.0.1:{ports.app}"
        wait_until(http_ready(app_url + ready_path), app, app_id, timeout=90)
        spec.wait_ready(sidecar)
        started = [process(name, argv).start() for name, argv in companions]
    except BaseException:
        if sidecar is not None:
            sidecar.stop()
        app.stop()
        raise
    return App(app_id, app_url, spec.url, app, sidecar, spec, started)


@dataclasses.dataclass
class LoneSidecar:
    """A daprd with no app behind it: how another service publishes, say."""

    app_id: str
    url: str
    api_token: str
    process: Process

    def stop(self) -> None:
        self.process.stop()


def start_sidecar(
    app_id: str, infra: Infrastructure, root: Path, join_placement: bool = False
) -> LoneSidecar:
    """``join_placement``: it can then call actors (it hosts none)."""
    tokens = new_tokens()
    for attempt in range(_PORT_ATTEMPTS):
        spec = sidecar_for(app_id, infra, root, AppPorts.free(), tokens, join_placement)
        spec.app_port = None
        process = spec.start()
        try:
            spec.wait_ready(process)
        except StartupError as error:
            process.stop()
            if attempt + 1 == _PORT_ATTEMPTS or not _port_was_taken(error):
                raise
            continue
        except BaseException:
            process.stop()
            raise
        return LoneSidecar(app_id, spec.url, tokens["DAPR_API_TOKEN"], process)
    raise AssertionError("unreachable")


def customer_service_command() -> list[str]:
    return [sys.executable, "-m", "service"]


def customer_service_companions(app_id: str = "customer-service") -> list[tuple[str, list[str]]]:
    """The worker process beside the API process (worker/)."""
    return [(f"{app_id}-worker", [sys.executable, "-m", "worker"])]


CUSTOMER_PORT_VARIABLES = ("APP_PORT", "CUSTOMER_HTTP_PORT")
HTTP_WORKERS = 2


def customer_service_env(infra: Infrastructure) -> dict[str, str]:
    return {
        "CUSTOMER_ENVIRONMENT": "development",
        "CUSTOMER_DATABASE_DSN": infra.postgres_dsn,
        "CUSTOMER_LOG_LEVEL": "info",
        # One process per core (this machine's two), as in the Deployment.
        "CUSTOMER_HTTP_WORKERS": str(HTTP_WORKERS),
        # Locally the sidecar calls the app on loopback (in a pod, from outside it).
        "CUSTOMER_HTTP_HOST": "127.0.0.1",
    }
