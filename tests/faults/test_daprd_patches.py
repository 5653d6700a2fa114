"""The two daprd 1.18.3 faults that our patch series (tools/dapr-patches) fixes.

Each test starts its own Redis, a tiny app (tests/support/flapping_app.py) and
daprd with the project's components, on free loopback ports; Postgres is shared
by the module. Everything is stopped at the end. Run against a stock daprd
(DAPR_HOME pointing at an unpatched build), both fail with the numbers measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.processes import Process, free_port, http_ready, wait_until
from devstack.services import Postgres, Redis, Sidecar
from devstack.stack import PROJECT_ROOT, render_components

APP_ID = "customer-service"  # the components are scoped to it
STORE = "customer-store"
FAILED_TRANSACTIONS = 5
FLAPS = 10
READERS = 2  # blocked XREADGROUPs: the outbox's internal topic and customer-events
HEALTHY = "App entered healthy status"
UNHEALTHY = "App entered un-healthy status"
DISCARDED = "discarding message"


@dataclasses.dataclass
class Sandbox:
    redis_port: int
    app_url: str
    sidecar_url: str
    daprd: Process

    def daprd_log(self) -> str:
        return self.daprd.log_path.read_text(errors="replace")

    def daprd_pid(self) -> int:
        assert self.daprd.pid is not None
        return self.daprd.pid


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults") / "logs"


@pytest.fixture(scope="module")
def postgres(logs: Path) -> Iterator[Postgres]:
    # Directly under the temp dir: the postgres user must reach it.
    data_dir = Path(tempfile.mkdtemp(prefix="customer-service-pg-"))
    server = Postgres(data_dir, free_port(), logs, durable=False)
    try:
        process = server.start()
        try:
            yield server
        finally:
            process.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def sandbox(
    root: Path, logs: Path, postgres: Postgres, daprd_args: list[str], health_path: str | None
) -> Iterator[Sandbox]:
    with contextlib.ExitStack() as stop:
        redis = Redis(root / "redis", free_port(), logs, durable=False)
        stop.callback(redis.start().stop)
        resources = render_components(root / "components", postgres.dsn(), redis.address)

        app_port = free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        app = Process(
            "flapping-app",
            [sys.executable, "-m", "tests.support.flapping_app"],
            logs / f"flapping-app-{app_port}.log",
            env={"APP_PORT": str(app_port)},
            cwd=PROJECT_ROOT,
        ).start()
        stop.callback(app.stop)
        wait_until(http_ready(app_url + "/livez"), app, "flapping app", timeout=30)

        spec = Sidecar(
            app_id=APP_ID,
            app_port=app_port,
            http_port=free_port(),
            grpc_port=free_port(),
            internal_grpc_port=free_port(),
            metrics_port=free_port(),
            placement_address=None,
            resources_dir=resources,
            config_file=resources / "config.yaml",
            log_dir=root / "daprd",
            app_health_path=health_path,
            extra_args=daprd_args,
        )
        daprd = spec.start()
        stop.callback(daprd.stop)
        spec.wait_ready(daprd)
        yield Sandbox(redis.port, app_url, spec.url, daprd)


def poll(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """True as soon as ``condition`` holds; False when ``timeout`` s passed without."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def cpu_percent(pid: int, window: float) -> float:
    """CPU used by ``pid`` over ``window`` seconds, from /proc (100 = one core)."""

    def ticks() -> int:
        # Fields after the parenthesised command name; utime and stime are 14 and 15.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    before, started = ticks(), time.monotonic()
    time.sleep(window)  # the measuring window
    used = (ticks() - before) / os.sysconf("SC_CLK_TCK")
    return 100.0 * used / (time.monotonic() - started)


def redis_clients(port: int) -> list[dict[str, str]]:
    redis_cli = shutil.which("redis-cli") or "redis-cli"
    listing = subprocess.run(
        [redis_cli, "-h", "127.0.0.1", "-p", str(port), "CLIENT", "LIST"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    return [
        dict(field.split("=", 1) for field in line.split() if "=" in field)
        for line in listing.splitlines()
        if line.strip()
    ]


def blocked_readers(port: int) -> int:
    """Connections blocked in XREADGROUP: one per stream reader of daprd's."""
    return sum(1 for client in redis_clients(port) if "b" in client.get("flags", ""))


def upsert(client: httpx.Client, sidecar_url: str, key: str, etag: str | None = None) -> int:
    request: dict[str, object] = {"key": key, "value": {"key": key}}
    if etag is not None:
        request["etag"] = etag
    response = client.post(
        f"{sidecar_url}/v1.0/state/{STORE}/transaction",
        json={"operations": [{"operation": "upsert", "request": request}]},
    )
    return response.status_code


def events_received(client: httpx.Client, app_url: str) -> int:
    return int(client.get(f"{app_url}/control/stats").json()["events"])


def test_failed_outbox_transactions_are_discarded_and_daprd_idles(
    tmp_path: Path, logs: Path, postgres: Postgres
) -> None:
    """0001: the marker read gives up after its 10 s backoff instead of spinning."""
    with sandbox(tmp_path, logs, postgres, [], None) as box, httpx.Client(timeout=10) as client:
        for _ in range(FAILED_TRANSACTIONS):
            key = f"patch-check-{uuid.uuid4().hex}"
            assert upsert(client, box.sidecar_url, key) == 204
            # Its internal message is already published; the write then fails.
            assert upsert(client, box.sidecar_url, key, etag=str(uuid.uuid4())) >= 400
        failed_at = time.monotonic()

        # Each message: 1 s scan delay, 10 s of backoff, then discarded.
        discarded = poll(lambda: box.daprd_log().count(DISCARDED) >= FAILED_TRANSACTIONS, 30)
        waited = time.monotonic() - failed_at
        cpu = cpu_percent(box.daprd_pid(), window=5.0)
        delivered = poll(lambda: events_received(client, box.app_url) >= FAILED_TRANSACTIONS, 10)
        count = box.daprd_log().count(DISCARDED)
        events = events_received(client, box.app_url)

    measured = f"{count} discarded after {waited:.1f} s; daprd then used {cpu:.0f}% CPU"
    assert discarded, f"the failed transactions' messages were not discarded: {measured}"
    assert cpu < 20, f"daprd is busy after the outbox gave up: {measured}"
    assert delivered, f"{events} of {FAILED_TRANSACTIONS} committed events delivered"


def test_app_health_flaps_leave_redis_readers_unchanged(
    tmp_path: Path, logs: Path, postgres: Postgres
) -> None:
    """0002 and 0003: each flap used to leave two more readers blocked for good."""
    # Each probe must time out within its 1 s interval (devstack's 3 s timeout
    # comes first on the command line; the last value of a flag wins).
    probes = ["--app-health-probe-interval", "1", "--app-health-probe-timeout", "500"]
    probes += ["--app-health-threshold", "1"]
    with (
        sandbox(tmp_path, logs, postgres, probes, "/livez") as box,
        httpx.Client(timeout=10) as client,
    ):

        def switch(health: str, line: str, seen: int) -> None:
            assert client.post(f"{box.app_url}/control/{health}").status_code == 200
            wait_until(lambda: box.daprd_log().count(line) > seen, box.daprd, line, timeout=15)

        # One reader per subscription: the outbox's internal topic, customer-events.
        wait_until(lambda: box.daprd_log().count(HEALTHY) >= 1, box.daprd, HEALTHY, timeout=15)
        assert poll(lambda: blocked_readers(box.redis_port) == READERS, 15)
        clients_before = len(redis_clients(box.redis_port))

        for _ in range(FLAPS):
            switch("unhealthy", UNHEALTHY, box.daprd_log().count(UNHEALTHY))
            switch("healthy", HEALTHY, box.daprd_log().count(HEALTHY))

        # A stopped subscription's reader lets go within its 2 s block (0003).
        settled = poll(lambda: blocked_readers(box.redis_port) == READERS, 10)
        after = blocked_readers(box.redis_port)
        clients_after = len(redis_clients(box.redis_port))

        # And both subscriptions still work: a committed write reaches the app.
        received = events_received(client, box.app_url)
        try:
            written = upsert(client, box.sidecar_url, f"patch-check-{uuid.uuid4().hex}") == 204
        except httpx.TimeoutException:
            written = False  # the outbox's publish waits for a free Redis connection
        delivered = written and poll(lambda: events_received(client, box.app_url) > received, 15)

    measured = (
        f"blocked readers {READERS} -> {after}, "
        f"Redis clients {clients_before} -> {clients_after} after {FLAPS} flaps"
    )
    assert settled, f"stream readers piled up: {measured}"
    assert written, f"a state transaction failed or hung after the flaps: {measured}"
    assert delivered, f"no event delivered within 15 s after the flaps: {measured}"
