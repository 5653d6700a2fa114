"""How to start each part of the stack: Postgres, Redis, placement, scheduler, daprd."""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import ClassVar

from devstack.processes import Process, StartupError, http_ready, tcp_ready, wait_until

DAPR_BIN = Path(os.environ.get("DAPR_HOME", Path.home() / ".dapr")) / "bin"
DATABASE = "customer_db"


def postgres_bin(name: str) -> str:
    """Debian keeps server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    found = candidates[-1] if candidates else shutil.which(name)
    if not found:
        raise StartupError(f"{name} not found: run `make setup` (installs postgresql)")
    return found


def _as_postgres_user(argv: list[str]) -> list[str]:
    # Postgres refuses to run as root; setpriv execs in place (no extra parent).
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclasses.dataclass
class Postgres:
    data_dir: Path
    port: int
    log_dir: Path
    # Throwaway test clusters trade durability for speed.
    durable: bool = True

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(self.data_dir)
        initdb = subprocess.run(
            _as_postgres_user(
                [
                    postgres_bin("initdb"),
                    "--pgdata",
                    str(self.data_dir),
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=False,
            capture_output=True,
            text=True,
        )
        if initdb.returncode != 0:
            raise StartupError(
                f"initdb failed for {self.data_dir} (the postgres user must be able to "
                f"reach it):\n{initdb.stdout[-2000:]}{initdb.stderr[-2000:]}"
            )

    def start(self) -> Process:
        self._initdb()
        argv = [
            postgres_bin("postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.data_dir}",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:
            argv += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            argv += ["-c", "full_page_writes=off"]
        process = Process(
            "postgres",
            _as_postgres_user(argv),
            self.log_dir / "postgres.log",
            stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM waits for clients
        ).start()
        try:
            # The port opens before the server accepts sessions ("starting up").
            wait_until(self._accepting, process, "postgres", timeout=60)
            self._create_database()
        except BaseException:
            process.stop()
            raise
        return process

    def _accepting(self) -> bool:
        check = [postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(check, check=False, capture_output=True).returncode == 0

    def _psql(self, sql: str, database: str = "postgres") -> str:
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        result = subprocess.run(
            [postgres_bin("psql"), *connection, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _create_database(self) -> None:
        # DATABASE is our constant, not input.
        if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"):  # noqa: S608
            self._psql(f"CREATE DATABASE {DATABASE}")


@dataclasses.dataclass
class Redis:
    data_dir: Path
    port: int
    log_dir: Path
    durable: bool = True
    # Clients must authenticate (Dapr's components carry it as redisPassword).
    password: str | None = None
    # With ``durable``: when the append-only file is fsynced (Redis' default:
    # everysec; "always" loses no acknowledged write to a crash).
    appendfsync: str | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Process:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server")
        if not binary:
            raise StartupError("redis-server not found: run `make setup` (installs redis-server)")
        argv = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
            "--daemonize",
            "no",
        ]
        if self.durable and self.appendfsync:
            argv += ["--appendfsync", self.appendfsync]
        if self.password:
            argv += ["--requirepass", self.password]
        return _started(Process("redis", argv, self.log_dir / "redis.log"), self.port)


def _started(process: Process, port: int, timeout: float = 30) -> Process:
    """Start ``process`` and wait for its port; stopped again if it never opens."""
    process.start()
    try:
        wait_until(tcp_ready(port), process, process.name, timeout=timeout)
    except BaseException:
        process.stop()
        raise
    return process


def _dapr_binary(name: str) -> str:
    path = DAPR_BIN / name
    if not path.exists():
        raise StartupError(f"{path} not found: run `make setup` (builds the Dapr runtime)")
    return str(path)


class _ControlPlane:
    """A Dapr control-plane process (placement, scheduler) on loopback, with its
    own port, health and metrics ports."""

    binary: ClassVar[str]
    port: int
    healthz_port: int
    metrics_port: int
    log_dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, flags: list[str], timeout: float) -> Process:
        argv = [
            _dapr_binary(self.binary),
            *("--port", str(self.port), "--listen-address", "127.0.0.1"),
            *("--healthz-port", str(self.healthz_port), "--healthz-listen-address", "127.0.0.1"),
            *("--metrics-port", str(self.metrics_port), "--metrics-listen-address", "127.0.0.1"),
            *flags,
        ]
        log = self.log_dir / f"{self.binary}.log"
        return _started(Process(self.binary, argv, log), self.port, timeout=timeout)


@dataclasses.dataclass
class Placement(_ControlPlane):
    binary: ClassVar[str] = "placement"
    port: int
    healthz_port: int
    metrics_port: int
    raft_port: int
    log_dir: Path

    def start(self) -> Process:
        cluster = f"dapr-placement-0=127.0.0.1:{self.raft_port}"
        return self._run(["--initial-cluster", cluster], timeout=30)


@dataclasses.dataclass
class Scheduler(_ControlPlane):
    binary: ClassVar[str] = "scheduler"
    port: int
    healthz_port: int
    metrics_port: int
    etcd_client_port: int
    etcd_peer_port: int
    data_dir: Path
    log_dir: Path

    def start(self) -> Process:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        flags = [
            *("--etcd-data-dir", str(self.data_dir)),
            *("--etcd-client-port", str(self.etcd_client_port)),
            *("--etcd-client-listen-address", "127.0.0.1"),
            "--etcd-initial-cluster",
            f"dapr-scheduler-server-0=http://127.0.0.1:{self.etcd_peer_port}",
        ]
        return self._run(flags, timeout=60)


@dataclasses.dataclass
class Sidecar:
    """daprd for one app, with its own free ports."""

    app_id: str
    app_port: int | None
    http_port: int
    grpc_port: int
    internal_grpc_port: int
    metrics_port: int
    placement_address: str | None
    resources_dir: Path
    config_file: Path
    log_dir: Path
    scheduler_address: str | None = None
    app_health_path: str | None = None
    # APP_API_TOKEN / DAPR_API_TOKEN for daprd (the app gets the same values).
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    # More daprd flags, appended as given (e.g. "--app-health-probe-interval", "1").
    extra_args: list[str] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def argv(self) -> list[str]:
        argv = [
            _dapr_binary("daprd"),
            "--app-id",
            self.app_id,
            "--dapr-http-port",
            str(self.http_port),
            "--dapr-grpc-port",
            str(self.grpc_port),
            "--dapr-internal-grpc-port",
            str(self.internal_grpc_port),
            # Every listener on loopback: the public API, the internal gRPC
            # API (actor and invocation traffic between sidecars), metrics.
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-internal-grpc-listen-address",
            "127.0.0.1",
            "--metrics-port",
            str(self.metrics_port),
            "--metrics-listen-address",
            "127.0.0.1",
            "--resources-path",
            str(self.resources_dir),
            "--config",
            str(self.config_file),
            "--log-level",
            "info",
            "--enable-profiling=false",
        ]
        if self.app_port is not None:
            argv += ["--app-port", str(self.app_port), "--app-protocol", "http"]
        if self.placement_address:
            argv += ["--placement-host-address", self.placement_address]
        if self.scheduler_address:
            argv += ["--scheduler-host-address", self.scheduler_address]
        if self.app_health_path:
            # A busy app must not look dead: while it does, daprd pauses its
            # subscriptions and unregisters every actor of this host.
            argv += ["--enable-app-health-check", "--app-health-check-path", self.app_health_path]
            argv += ["--app-health-probe-timeout", "3000", "--app-health-threshold", "3"]
        return [*argv, *self.extra_args]

    def start(self) -> Process:
        log = self.log_dir / f"daprd-{self.app_id}.log"
        return Process(f"daprd-{self.app_id}", self.argv(), log, env=self.env).start()

    def wait_ready(self, process: Process, timeout: float = 90.0) -> None:
        wait_until(http_ready(f"{self.url}/v1.0/healthz"), process, f"daprd {self.app_id}", timeout)
