"""A durable stack of the chaos suite's own, and the outages it can suffer.

Postgres with fsync on, Redis with ``appendonly yes`` and ``appendfsync
always``, placement, and one or more replicas of the service (API, worker,
daprd with the app health check on ``/livez``, as in Kubernetes). Every process
is a process group of its own, stopped by :meth:`ChaosStack.stop`; every
listener is on 127.0.0.1 on a free port. Each fault keeps the ports, so the
rest of the stack finds the restarted process where it was.

The methods block (they wait for readiness): call them through
``asyncio.to_thread`` while clients run.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import socket
import tempfile
import time
from pathlib import Path

from devstack.processes import Process, free_port, http_ready, wait_until
from devstack.services import Placement, Postgres, Redis
from devstack.stack import App, Infrastructure
from readmodel.migrate import apply_migrations
from tests.support.stacks import start_customer_service

# The reconciler as in production (service/settings.py defaults), not the
# suite's quick one: how long the read model takes to converge after a lost
# event is part of what is measured.
CHAOS_ENV = {
    "CUSTOMER_RECONCILE_GRACE_SECONDS": "30",
    "CUSTOMER_RECONCILE_PAUSE_SECONDS": "1",
}
HEALTH_PATH = "/livez"


@dataclasses.dataclass
class ChaosStack:
    root: Path
    postgres: Postgres
    redis: Redis
    placement: Placement
    redis_password: str
    pg_data: Path
    postgres_process: Process | None = None
    redis_process: Process | None = None
    placement_process: Process | None = None
    replicas: list[App] = dataclasses.field(default_factory=list)

    @classmethod
    def create(cls, root: Path) -> ChaosStack:
        logs = root / "logs"
        # Directly under the temp dir: the postgres user must reach it.
        pg_data = Path(tempfile.mkdtemp(prefix="customer-service-chaos-pg-"))
        password = secrets.token_urlsafe(24)
        return cls(
            root=root,
            postgres=Postgres(pg_data, free_port(), logs, durable=True),
            redis=Redis(
                root / "redis",
                free_port(),
                logs,
                durable=True,
                password=password,
                appendfsync="always",
            ),
            placement=Placement(free_port(), free_port(), free_port(), free_port(), logs),
            redis_password=password,
            pg_data=pg_data,
        )

    @property
    def infra(self) -> Infrastructure:
        """What devstack's app starter needs; the processes stay ours."""
        return Infrastructure(
            postgres_dsn=self.postgres.dsn(),
            redis_address=self.redis.address,
            placement_address=self.placement.address,
            redis_password=self.redis_password,
        )

    @property
    def dsn(self) -> str:
        return self.postgres.dsn()

    @property
    def urls(self) -> list[str]:
        return [replica.app_url for replica in self.replicas]

    def start(self, replicas: int = 1) -> None:
        self.postgres_process = self.postgres.start()
        apply_migrations(self.postgres.dsn())
        self.redis_process = self.redis.start()
        self.placement_process = self.placement.start()
        for _ in range(replicas):
            self.add_replica()

    def add_replica(self) -> App:
        number = len(self.replicas) + 1
        app = start_customer_service(
            self.infra,
            self.root,
            env=CHAOS_ENV,
            app_health_path=HEALTH_PATH,
            log_dir=self.root / "logs" / f"replica-{number}",
        )
        self.replicas.append(app)
        return app

    def stop(self) -> None:
        try:
            for replica in reversed(self.replicas):
                replica.stop()
            for process in (self.placement_process, self.redis_process, self.postgres_process):
                if process is not None:
                    process.stop()
        finally:
            shutil.rmtree(self.pg_data, ignore_errors=True)

    # -- faults: each returns when the process is back and ready --------------------

    def kill_app(self, replica: int = 0, down: float = 2.0) -> None:
        """SIGKILL the API process, and start it again ``down`` s later."""
        app = self.replicas[replica]
        app.app.kill()
        time.sleep(down)
        app.app.start()
        wait_until(http_ready(app.app_url + HEALTH_PATH), app.app, "the app", timeout=90)

    def kill_sidecar(self, replica: int = 0, down: float = 2.0) -> None:
        app = self.replicas[replica]
        app.sidecar.kill()
        time.sleep(down)
        app.sidecar = app.sidecar_spec.start()
        app.sidecar_spec.wait_ready(app.sidecar)

    def kill_replica(self, replica: int, down: float) -> None:
        """The whole replica at once (a node lost): API, worker and daprd."""
        app = self.replicas[replica]
        for process in (app.sidecar, app.app, *app.companions):
            process.kill()
        time.sleep(down)
        app.app.start()
        app.sidecar = app.sidecar_spec.start()
        wait_until(http_ready(app.app_url + HEALTH_PATH), app.app, "the app", timeout=90)
        app.sidecar_spec.wait_ready(app.sidecar)
        for companion in app.companions:
            companion.start()

    def restart_postgres(self, down: float) -> None:
        """A clean stop (fast shutdown: sessions are cut), ``down`` s, a start."""
        assert self.postgres_process is not None
        self.postgres_process.stop()
        time.sleep(down)
        self.postgres_process = self.postgres.start()

    def restart_redis(self, down: float) -> None:
        """A clean stop (the append-only file is fsynced), ``down`` s, a start."""
        assert self.redis_process is not None
        self.redis_process.stop()
        time.sleep(down)
        self.redis_process = self.redis.start()
        # The port opens before the append-only file is loaded ("LOADING").
        wait_until(self._redis_answers, self.redis_process, "redis", timeout=30)

    def _redis_answers(self) -> bool:
        password = self.redis_password.encode()
        hello = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (
            len(password),
            password,
        )
        try:
            with socket.create_connection(("127.0.0.1", self.redis.port), timeout=1) as sock:
                sock.sendall(hello)
                answer = b""
                while answer.count(b"\r\n") < 2:
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    answer += chunk
        except OSError:
            return False
        return answer.endswith(b"+PONG\r\n")

    def pause_redis(self, seconds: float) -> None:
        """SIGSTOP: connections stay open and every command hangs."""
        assert self.redis_process is not None
        self.redis_process.pause()
        try:
            time.sleep(seconds)
        finally:
            self.redis_process.resume()

    def log_files(self) -> list[Path]:
        return sorted((self.root / "logs").rglob("*.log"))
