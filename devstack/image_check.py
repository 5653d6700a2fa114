"""``python -m devstack.image_check IMAGE``: the image's smoke test (``make image-check``).

Runs the built image as an operator's cluster would, beside a local daprd:
the API (the image's entrypoint) and the worker (``python -m worker``, same
image) as two containers sharing a hostname like a pod's containers,
read-only root filesystem, the image's own non-root user, no capabilities,
the environment the Deployment gives it (secrets replaced by throwaway
values), on the host's network namespace and loopback only. Then checks that
it serves: /livez, the health route, a create and a get with an admin token,
the create's event on the ``customer-events`` stream in Redis, the image's
HEALTHCHECK, that the root filesystem refuses writes, and a clean stop on
SIGTERM. Prints the image size and the start time (``podman run`` until /livez
answers 200).

Postgres, Redis and placement are started by devstack on free ports and
stopped at the end, with the container, whatever happens.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from devstack.processes import Process, StartupError, http_ready, wait_until
from devstack.stack import (
    PROJECT_ROOT,
    AppPorts,
    Infrastructure,
    sidecar_for,
    start_infrastructure,
)
from readmodel.migrate import apply_migrations
from security.access_tokens import TokenIssuer
from service.schemas import CREATE_EXAMPLE

PODMAN = str(PROJECT_ROOT / "scripts" / "podman")
DEPLOYMENT = PROJECT_ROOT / "k8s" / "base" / "deployment.yaml"
APP_ID = "customer-service"
EVENTS_STREAM = "customer-events"
HOST_SPECIFIC = {
    # The collector of the cluster is not part of this check (and is not on loopback).
    "CUSTOMER_TRACING_ENABLED": "false",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
}


class CheckFailed(AssertionError):
    """One of the smoke test's checks did not hold."""


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _throwaway_secrets(infra: Infrastructure) -> dict[str, str]:
    """A value for each variable the Deployment takes from a Secret."""
    return {
        "CUSTOMER_DATABASE_DSN": infra.postgres_dsn,
        "CUSTOMER_JWT_SECRET": secrets.token_urlsafe(48),
        "CUSTOMER_TOTP_KEYS": f"check1:{_key()}",
        "CUSTOMER_NOTIFICATION_KEYS": f"check1:{_key()}",
        "CUSTOMER_COMMAND_KEYS": f"check1:{_key()}",
        "CUSTOMER_EVENT_KEYS": f"check1:{_key()}",
        "APP_API_TOKEN": "app-" + secrets.token_hex(16),
        "DAPR_API_TOKEN": "dapr-" + secrets.token_hex(16),
        # The pod's name (downward API in k8s): the worker's status row.
        "CUSTOMER_REPLICA_ID": "image-check",
    }


def deployment_environment(throwaway: dict[str, str]) -> dict[str, str]:
    """The app container's env as k8s/base/deployment.yaml declares it.

    Plain values are taken as they are (but for HOST_SPECIFIC ones); each
    ``secretKeyRef`` gets its throwaway value, and one we have none for stops
    the check, so that a new secret in the manifest is noticed here.
    """
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    container = next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == APP_ID
    )
    env: dict[str, str] = {}
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            env[name] = HOST_SPECIFIC.get(name, str(item["value"]))
        elif name in throwaway:
            env[name] = throwaway[name]
        else:
            raise CheckFailed(f"{DEPLOYMENT.name}: no throwaway value for {name}; add one here")
    return env


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result


def request(
    method: str, url: str, token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def stream_events(infra: Infrastructure, stream: str) -> list[dict[str, Any]]:
    """Every CloudEvent in the Redis stream that Dapr's pub/sub writes to."""
    host, port = infra.redis_address.rsplit(":", 1)
    result = subprocess.run(
        ["redis-cli", "-h", host, "-p", port, "--json", "XRANGE", stream, "-", "+"],
        capture_output=True,
        text=True,
        check=True,
        # The password through the environment, not on a command line.
        env={**os.environ, "REDISCLI_AUTH": infra.redis_password},
    )
    events = []
    for _entry_id, fields in json.loads(result.stdout or "[]"):
        # RESP3 may answer a map or a flat [field, value, ...] list.
        pairs = (
            fields
            if isinstance(fields, dict)
            else dict(zip(fields[::2], fields[1::2], strict=True))
        )
        with contextlib.suppress(KeyError, ValueError, TypeError):
            events.append(json.loads(pairs["data"]))
    return events


def wait_for(what: str, ready: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(0.2)
    raise CheckFailed(f"{what}: not within {timeout:.0f}s")


class ImageCheck:
    def __init__(self, image: str, root: Path) -> None:
        self.image = image
        self.root = root
        self.logs = root / "logs"
        self.container = f"customer-service-check-{uuid.uuid4().hex[:8]}"
        self.worker = f"{self.container}-worker"
        self.results: dict[str, Any] = {"image": image}

    def say(self, message: str) -> None:
        print(f"image-check: {message}", flush=True)

    def run(self) -> dict[str, Any]:
        inspected = json.loads(podman("image", "inspect", self.image).stdout)[0]
        config = inspected["Config"]
        self.results["size_mb"] = round(inspected["Size"] / 1e6, 1)
        self.say(f"{self.image}: {self.results['size_mb']} MB, user {config.get('User')}")
        if config.get("User", "") in ("", "0", "root") or config["User"].startswith("0:"):
            raise CheckFailed("the image runs as root")
        if not inspected.get("Healthcheck"):
            raise CheckFailed("the image has no HEALTHCHECK (built with --format docker?)")

        infra = start_infrastructure(self.root)
        sidecar: Process | None = None
        try:
            apply_migrations(infra.postgres_dsn)
            throwaway = _throwaway_secrets(infra)
            tokens = {name: throwaway[name] for name in ("APP_API_TOKEN", "DAPR_API_TOKEN")}
            ports = AppPorts.free()
            # The project's components and config, as every local sidecar; the
            # app health check as the Deployment's annotations ask.
            spec = sidecar_for(APP_ID, infra, self.root, ports, tokens, app_health_path="/livez")
            app_port = ports.app
            env = {
                **deployment_environment(throwaway),
                # On the host's network: the app's port is a free one, on loopback only.
                "CUSTOMER_HTTP_HOST": "127.0.0.1",
                "CUSTOMER_HTTP_PORT": str(app_port),
                "DAPR_HTTP_PORT": str(spec.http_port),
                "DAPR_GRPC_PORT": str(spec.grpc_port),
            }
            app_url = f"http://127.0.0.1:{app_port}"
            env_args = [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]
            # One metrics folder for both containers, as the pod's emptyDir.
            metrics = self.root / "metrics"
            metrics.mkdir(parents=True, exist_ok=True)
            metrics.chmod(0o777)  # written by the image's own user
            env_args += ["--volume", f"{metrics}:{env['PROMETHEUS_MULTIPROC_DIR']}:rw"]
            # As in a pod: one hostname (the replica id the API's health looks up
            # the worker's report by), read-only root, no capabilities.
            common = [
                "--detach",
                "--network=host",
                f"--hostname={self.container}",
                "--read-only",  # /tmp, /var/tmp and /run are tmpfs, as /tmp's emptyDir in k8s
                "--cap-drop=ALL",
                "--security-opt=no-new-privileges",
                *env_args,
            ]
            started = time.monotonic()
            podman("run", "--name", self.container, *common, self.image)
            # The worker process (python -m worker) beside the API, from the same image.
            podman(
                "run",
                "--name",
                self.worker,
                *common,
                "--entrypoint",
                "python",
                self.image,
                "-m",
                "worker",
            )
            # Together, as in a pod: the app's actor host waits for the sidecar.
            sidecar = spec.start()
            wait_until(http_ready(app_url + "/livez"), None, "the container's /livez", 120)
            self.results["start_seconds"] = round(time.monotonic() - started, 2)
            self.say(f"/livez 200 {self.results['start_seconds']} s after `podman run`")
            spec.wait_ready(sidecar)
            self.exercise(app_url, infra, throwaway["CUSTOMER_JWT_SECRET"])
            self.inspect_running()
            self.stop_container()
        except BaseException:
            self.save_container_log()
            raise
        finally:
            podman("rm", "--force", "--time", "5", self.container, self.worker, check=False)
            if sidecar is not None:
                sidecar.stop()
            infra.stop()
        return self.results

    def exercise(self, app_url: str, infra: Infrastructure, jwt_secret: str) -> None:
        def healthy() -> bool:
            return request("GET", app_url + "/api/v1/customers/health")[0] == 200

        wait_for("health 200", healthy, 60)
        self.say("GET /api/v1/customers/health 200")
        issuer = TokenIssuer(jwt_secret, "customer-service", "shop", timedelta(minutes=15))
        token = issuer.issue("image-check", ["admin"], datetime.now(UTC))
        email = f"image-check-{uuid.uuid4().hex[:12]}@example.com"
        status, created = request(
            "POST", app_url + "/api/v1/customers", token, {**CREATE_EXAMPLE, "email": email}
        )
        if status != 201:
            raise CheckFailed(f"create answered {status}: {created}")
        customer_id = created["customer"]["id"]
        self.say(f"POST /api/v1/customers 201 ({customer_id})")
        status, fetched = request("GET", f"{app_url}/api/v1/customers/{customer_id}", token)
        if status != 200 or fetched["customer"]["email"] != email:
            raise CheckFailed(f"get answered {status}: {fetched}")
        self.say(f"GET /api/v1/customers/{customer_id} 200")

        def created_event() -> dict[str, Any] | None:
            for event in stream_events(infra, EVENTS_STREAM):
                if event.get("subject") == customer_id and event.get("type") == "customer.created":
                    return event
            return None

        event = wait_for("the customer.created event", created_event, 30)
        if event["data"]["version"] != 1 or event["data"]["snapshot"]["email"] != email:
            raise CheckFailed(f"unexpected event: {event}")
        self.say(f"{EVENTS_STREAM}: customer.created for {customer_id}, version 1")

    def inspect_running(self) -> None:
        health = podman("healthcheck", "run", self.container, check=False)
        if health.returncode != 0:
            raise CheckFailed(f"HEALTHCHECK failed: {health.stdout}{health.stderr}")
        self.say("HEALTHCHECK (python -m service.healthcheck): healthy")
        user = podman("exec", self.container, "id", "-u").stdout.strip()
        if user in ("", "0"):
            raise CheckFailed(f"the app runs as uid {user!r}")
        write = podman(
            "exec", self.container, "python", "-c", "open('/opt/venv/probe', 'w')", check=False
        )
        if write.returncode == 0 or "Read-only file system" not in write.stderr:
            raise CheckFailed(f"the root filesystem took a write: {write.stderr}")
        self.say(f"runs as uid {user}; the root filesystem is read-only")

    def stop_container(self) -> None:
        began = time.monotonic()
        podman("stop", "--time", "35", self.container)
        self.results["stop_seconds"] = round(time.monotonic() - began, 2)
        podman("stop", "--time", "35", self.worker)
        for name in (self.container, self.worker):
            code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            if code != "0":
                raise CheckFailed(f"{name} exited {code} on SIGTERM")
        self.say(f"SIGTERM: the API exited 0 in {self.results['stop_seconds']} s, the worker 0")

    def save_container_log(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for name, file in ((self.container, "container.log"), (self.worker, "worker.log")):
            logs = podman("logs", name, check=False)
            (self.logs / file).write_text(logs.stdout + logs.stderr)
        print(f"image-check: the containers' logs are in {self.logs}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.image_check")
    parser.add_argument("image", help="e.g. localhost/customer-service:0.1.0")
    parser.add_argument("--json", type=Path, help="also write the results here")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="customer-service-image-check-"))
    try:
        results = ImageCheck(arguments.image, root).run()
    except (CheckFailed, StartupError) as exc:
        print(f"image-check: FAILED: {exc}\n(logs under {root / 'logs'})", file=sys.stderr)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"image-check: passed: {results['size_mb']} MB, /livez after {results['start_seconds']} s, "
        f"stopped in {results['stop_seconds']} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
