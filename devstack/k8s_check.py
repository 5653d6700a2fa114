"""``python -m devstack.k8s_check``: k8s/ against a real API server and Dapr's injector.

Part of ``make k8s-check`` (scripts/install-k8s-tools.sh builds the binaries
first). On loopback only, in a throwaway folder, it starts:

- etcd and kube-apiserver of the pinned Kubernetes release (token auth, the
  admin in ``system:masters``, AlwaysAllow; no controller manager, scheduler or
  kubelet: nothing runs, objects are only admitted and stored);
- Dapr's CRDs (Component, Configuration, Resiliency, Subscription) from the
  pinned Dapr module;

then, for every overlay, ``kubectl apply --server-side --dry-run=server -k``
(strict field validation: an unknown field fails), and the same apply for real.

Then Dapr's Sentry and sidecar injector, the injector registered as the
``dapr-sidecar-injector`` mutating webhook, and for every overlay a Pod made
from the Deployment's pod template is created for real, so that the webhook
mutates it, and the injected ``daprd`` container is checked against the
Deployment's ``dapr.io/*`` annotations: app id, app port, config, API and app
token Secrets, log level and JSON logs, metrics port, app health check,
graceful shutdown, sidecar resources and probes; plus the label and ports the
NetworkPolicy relies on. Expected values are read from the manifests (or are
Dapr's defaults for annotations they leave out), never hard-coded.

Sentry runs in standalone mode, i.e. with its *insecure* token validator: its
Kubernetes validator checks pod-bound service-account tokens, which need a
kubelet. The injector's own certificate is still signed by that Sentry and its
trust anchors are what the API server verifies the webhook with.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devstack.processes import Process, StartupError, free_port, tcp_ready, wait_until
from devstack.stack import PROJECT_ROOT

K8S = PROJECT_ROOT / "k8s"
DEFAULT_TOOLS = Path.home() / ".cache" / "customer-service" / "k8s-tools"
DAPR_CRDS = ("components.yaml", "configuration.yaml", "resiliency.yaml", "subscription.yaml")
CONTROL_PLANE_NAMESPACE = "dapr-system"
TRUST_DOMAIN = "cluster.local"
APP_CONTAINER = "customer-service"
SIDECAR = "daprd"
INJECTED_LABEL = "dapr.io/sidecar-injected"
POD_SECURITY = "pod-security.kubernetes.io/warn"
INJECTED_APP_ENV = ("DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "APP_PROTOCOL")

# Dapr 1.18's values where an annotation is absent (pkg/injector/patcher/sidecar.go).
DAPR_DEFAULTS = {
    "dapr.io/log-level": "info",
    "dapr.io/log-as-json": "false",
    "dapr.io/enable-metrics": "true",
    "dapr.io/metrics-port": "9090",
    "dapr.io/app-protocol": "http",
    "dapr.io/internal-grpc-port": "50002",
    "dapr.io/enable-app-health-check": "false",
    "dapr.io/app-health-check-path": "/healthz",
    "dapr.io/graceful-shutdown-seconds": "-1",
    "dapr.io/sidecar-liveness-probe-delay-seconds": "180",
    "dapr.io/sidecar-liveness-probe-timeout-seconds": "3",
    "dapr.io/sidecar-liveness-probe-period-seconds": "10",
    "dapr.io/sidecar-liveness-probe-threshold": "5",
    "dapr.io/sidecar-readiness-probe-delay-seconds": "1",
    "dapr.io/sidecar-readiness-probe-timeout-seconds": "1",
    "dapr.io/sidecar-readiness-probe-period-seconds": "1",
    "dapr.io/sidecar-readiness-probe-threshold": "5",
}
# What the Helm chart gives the injector by default (charts/dapr, values.yaml).
INJECTOR_CHART_DEFAULTS = {
    "SIDECAR_IMAGE_PULL_POLICY": "IfNotPresent",
    "SIDECAR_RUN_AS_NON_ROOT": "true",
    "SIDECAR_READ_ONLY_ROOT_FILESYSTEM": "true",
    "SIDECAR_DROP_ALL_CAPABILITIES": "false",
    "ENABLE_K8S_DOWNWARD_APIS": "false",
    "NATIVE_SIDECAR_ENABLED": "false",
    "ACTORS_ENABLED": "true",
    "ACTORS_SERVICE_NAME": "placement",
    "ACTORS_SERVICE_ADDRESS": "dapr-placement-server:50005",
    "KUBE_CLUSTER_DOMAIN": TRUST_DOMAIN,
    "NAMESPACE": CONTROL_PLANE_NAMESPACE,
    "DAPR_CONTROL_PLANE_TRUST_DOMAIN": TRUST_DOMAIN,
}


class CheckFailed(AssertionError):
    """The API server or the injector disagreed with the manifests."""


def say(message: str) -> None:
    print(f"k8s-check: {message}", flush=True)


# --- certificates -------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def write_certificates(folder: Path) -> None:
    """A throwaway CA, the API server's serving certificate and the service-account keys."""
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "customer-service-k8s-check")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _key()
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes.default.svc"),
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    service_accounts = _key()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "apiserver.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "apiserver.key").write_bytes(_pem_key(server_key))
    (folder / "sa.key").write_bytes(_pem_key(service_accounts))
    (folder / "sa.pub").write_bytes(
        service_accounts.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# --- the control plane ----------------------------------------------------------


@dataclasses.dataclass
class Cluster:
    """etcd + kube-apiserver on loopback, and kubectl pointed at them."""

    tools: Path
    root: Path
    processes: list[Process] = dataclasses.field(default_factory=list)
    token: str = dataclasses.field(default_factory=lambda: secrets.token_hex(24))
    port: int = dataclasses.field(default_factory=free_port)

    @property
    def bin(self) -> Path:
        return self.tools / "bin"

    @property
    def dapr_version(self) -> str:
        """The pinned Dapr module's version (install-k8s-tools.sh notes it with its CRDs)."""
        return (self.tools / "dapr-crds" / ".version").read_text().strip().removeprefix("v")

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def start(self) -> None:
        pki = self.root / "pki"
        write_certificates(pki)
        etcd_port, peer_port = free_port(), free_port()
        etcd = Process(
            "etcd",
            [
                str(self.bin / "etcd"),
                "--name=check",
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=check=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self.logs / "etcd.log",
        ).start()
        self.processes.append(etcd)
        wait_until(tcp_ready(etcd_port), etcd, "etcd", timeout=60)

        tokens = self.root / "tokens.csv"
        tokens.write_text(f'{self.token},k8s-check-admin,k8s-check-admin,"system:masters"\n')
        apiserver = Process(
            "kube-apiserver",
            [
                str(self.bin / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=AlwaysAllow",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                # Only allocated in etcd: nothing routes to it.
                "--service-cluster-ip-range=10.96.0.0/16",
                # The built-in "kubernetes" Endpoints may not hold a loopback address.
                "--endpoint-reconciler-type=none",
                "--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
                f"--cert-dir={pki}",
                "--v=1",
            ],
            self.logs / "kube-apiserver.log",
        ).start()
        self.processes.append(apiserver)
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "check",
                            "cluster": {
                                "server": f"https://127.0.0.1:{self.port}",
                                "certificate-authority": str(pki / "ca.crt"),
                            },
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [
                        {"name": "check", "context": {"cluster": "check", "user": "admin"}}
                    ],
                    "current-context": "check",
                }
            )
        )
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))

        def ready() -> bool:
            request = urllib.request.Request(
                f"https://127.0.0.1:{self.port}/readyz",
                headers={"authorization": f"Bearer {self.token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
                    return bool(response.status == 200)
            except (OSError, urllib.error.URLError):
                return False

        wait_until(ready, apiserver, "kube-apiserver", timeout=120)

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            cwd=PROJECT_ROOT,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise CheckFailed(
                f"kubectl {' '.join(args)} failed:\n{result.stderr.strip() or result.stdout}"
            )
        return result

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        scope = ["-n", namespace] if namespace else []
        loaded: dict[str, Any] = json.loads(
            self.kubectl("get", kind, name, *scope, "-o", "json").stdout
        )
        return loaded

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- the manifests ----------------------------------------------------------------


@dataclasses.dataclass
class Overlay:
    path: Path
    namespace: str
    objects: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.path.name

    def find(self, kind: str) -> Iterator[dict[str, Any]]:
        return (obj for obj in self.objects if obj["kind"] == kind)


def render(cluster: Cluster, overlay: Path) -> Overlay:
    """The overlay as kubectl's own kustomize renders it."""
    text = cluster.kubectl("kustomize", str(overlay.relative_to(PROJECT_ROOT))).stdout
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    namespaces = {obj["metadata"].get("namespace") for obj in objects} - {None}
    if len(namespaces) != 1:
        raise CheckFailed(f"{overlay.name}: expected one namespace, found {sorted(namespaces)}")
    return Overlay(overlay, namespaces.pop(), objects)


def referenced_secrets(overlay: Overlay) -> dict[str, set[str]]:
    """Every Secret (and key) the overlay reads: secretKeyRefs and Dapr's token annotations."""
    wanted: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and "name" in ref and "key" in ref:
                wanted.setdefault(ref["name"], set()).add(ref["key"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for obj in overlay.objects:
        walk(obj)
        template = obj.get("spec", {}).get("template", {}) if obj["kind"] == "Deployment" else {}
        annotations = template.get("metadata", {}).get("annotations", {})
        for annotation in ("dapr.io/app-token-secret", "dapr.io/api-token-secret"):
            if annotation in annotations:
                # The injector reads the key "token" (pkg/injector/patcher).
                wanted.setdefault(annotations[annotation], set()).add("token")
    return wanted


def applied_objects(output: str) -> list[str]:
    return [line for line in output.splitlines() if "serverside-applied" in line]


def warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Warning:")]


def check_overlay(cluster: Cluster, overlay: Overlay) -> None:
    cluster.kubectl("create", "namespace", overlay.namespace)
    # Our pod templates set everything the "restricted" Pod Security Standard
    # asks; the API server says so (or warns) for each workload.
    cluster.kubectl("label", "namespace", overlay.namespace, f"{POD_SECURITY}=restricted")
    for name, keys in sorted(referenced_secrets(overlay).items()):
        literals = [f"--from-literal={key}=dummy-{secrets.token_hex(8)}" for key in sorted(keys)]
        cluster.kubectl("-n", overlay.namespace, "create", "secret", "generic", name, *literals)
    relative = str(overlay.path.relative_to(PROJECT_ROOT))
    dry = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "--field-manager=k8s-check", "-k", relative
    )
    accepted = applied_objects(dry.stdout)
    if len(accepted) != len(overlay.objects):
        raise CheckFailed(
            f"{overlay.name}: {len(accepted)} of {len(overlay.objects)} objects accepted:\n"
            f"{dry.stdout}{dry.stderr}"
        )
    warned = warnings(dry.stderr)
    if any("PodSecurity" in line for line in warned):
        raise CheckFailed(f"{overlay.name}: a pod template is not 'restricted':\n{dry.stderr}")
    for line in warned:
        say(f"{overlay.name}: the API server warns: {line}")
    say(f"{overlay.name}: all {len(accepted)} objects accepted (server-side dry run, strict)")
    applied = cluster.kubectl("apply", "--server-side", "--field-manager=k8s-check", "-k", relative)
    if len(applied_objects(applied.stdout)) != len(overlay.objects):
        raise CheckFailed(f"{overlay.name}: apply stored fewer objects:\n{applied.stdout}")


def check_strictness(cluster: Cluster, overlay: Overlay) -> None:
    """A control: the same dry run refuses a field the CRD does not know."""
    configuration = json.loads(json.dumps(next(overlay.find("Configuration"))))
    configuration["spec"]["notAField"] = True
    refused = cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=k8s-check",
        "-f",
        "-",
        stdin=json.dumps(configuration),
        check=False,
    )
    if refused.returncode == 0 or "notAField" not in refused.stderr:
        raise CheckFailed(f"strict validation is off: an unknown field passed:\n{refused.stderr}")
    say("control: an unknown field in a Dapr Configuration is refused (strict validation on)")


# --- Sentry and the injector -----------------------------------------------------------


def start_dapr_control_plane(cluster: Cluster) -> Injector:
    """Sentry, then the injector as the API server's mutating webhook."""
    credentials = cluster.root / "sentry"
    credentials.mkdir()
    config = cluster.root / "sentry-config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "dapr.io/v1alpha1",
                "kind": "Configuration",
                "metadata": {"name": "daprsystem"},
                "spec": {"mtls": {"enabled": True, "controlPlaneTrustDomain": TRUST_DOMAIN}},
            }
        )
    )
    sentry_port = free_port()
    sentry = Process(
        "sentry",
        [
            str(cluster.bin / "sentry"),
            # Standalone mode: the insecure validator (see the module's doc).
            "--mode=standalone",
            f"--config={config}",
            f"--issuer-credentials={credentials}",
            f"--trust-domain={TRUST_DOMAIN}",
            f"--port={sentry_port}",
            "--listen-address=127.0.0.1",
            f"--healthz-port={free_port()}",
            "--healthz-listen-address=127.0.0.1",
            "--enable-metrics=false",
        ],
        cluster.logs / "sentry.log",
        env={"NAMESPACE": CONTROL_PLANE_NAMESPACE},
    ).start()
    cluster.processes.append(sentry)
    wait_until(tcp_ready(sentry_port), sentry, "sentry", timeout=60)
    trust_bundle = credentials / "ca.crt"
    wait_until(trust_bundle.exists, sentry, "sentry's trust bundle", timeout=30)

    injector_port = free_port()
    cluster.kubectl("create", "namespace", CONTROL_PLANE_NAMESPACE)
    # The API server calls a webhook Service as https://<name>.<namespace>.svc and
    # the injector's certificate (from Sentry) names exactly that; an ExternalName
    # Service to localhost makes the API server dial the injector on loopback.
    webhook_objects = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dapr-sidecar-injector", "namespace": CONTROL_PLANE_NAMESPACE},
            "spec": {
                "type": "ExternalName",
                "externalName": "localhost",
                "ports": [{"name": "https", "port": injector_port, "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "dapr-sidecar-injector"},
            "webhooks": [
                {
                    "name": "sidecar-injector.dapr.io",
                    "reinvocationPolicy": "IfNeeded",
                    "clientConfig": {
                        "service": {
                            "namespace": CONTROL_PLANE_NAMESPACE,
                            "name": "dapr-sidecar-injector",
                            "path": "/mutate",
                            "port": injector_port,
                        },
                        "caBundle": base64.b64encode(trust_bundle.read_bytes()).decode(),
                    },
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "resources": ["pods"],
                            "operations": ["CREATE"],
                        }
                    ],
                    # Fail, not the chart's Ignore: a broken webhook must fail this check.
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                }
            ],
        },
    ]
    cluster.kubectl(
        "apply", "-f", "-", stdin="\n---\n".join(yaml.safe_dump(o) for o in webhook_objects)
    )
    injector = Injector(cluster, injector_port, sentry_port, trust_bundle)
    injector.start()
    return injector


@dataclasses.dataclass
class Injector:
    """Dapr's sidecar injector with the chart's default settings (or others)."""

    cluster: Cluster
    port: int
    sentry_port: int
    trust_bundle: Path
    process: Process | None = None

    def start(self, **settings: str) -> None:
        process = Process(
            "injector",
            [
                str(self.cluster.bin / "injector"),
                f"--port={self.port}",
                "--listen-address=127.0.0.1",
                f"--healthz-port={free_port()}",
                "--healthz-listen-address=127.0.0.1",
                f"--kubeconfig={self.cluster.kubeconfig}",
                "--enable-metrics=false",
            ],
            self.cluster.logs / "injector.log",
            env={
                **INJECTOR_CHART_DEFAULTS,
                "SIDECAR_IMAGE": f"ghcr.io/dapr/daprd:{self.cluster.dapr_version}",
                **settings,
                "DAPR_TRUST_ANCHORS_FILE": str(self.trust_bundle),
                "DAPR_SENTRY_ADDRESS": f"127.0.0.1:{self.sentry_port}",
                # In Kubernetes mode it refuses uid 0; here it runs as the caller.
                "DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK": "true",
            },
        ).start()
        self.cluster.processes.append(process)
        self.process = process
        wait_until(tcp_ready(self.port), process, "injector", timeout=60)

    def restart(self, **settings: str) -> None:
        if self.process is not None:
            self.process.stop()
            self.cluster.processes.remove(self.process)
        self.start(**settings)


# --- what the injector made of our Deployment ---------------------------------------------


def the_deployment(overlay: Overlay) -> dict[str, Any]:
    deployment = next(overlay.find("Deployment"), None)
    if deployment is None:
        raise CheckFailed(f"{overlay.name}: no Deployment in the overlay")
    return deployment


def pod_from_template(overlay: Overlay, owner: dict[str, Any], name: str) -> dict[str, Any]:
    """A Pod as the Deployment's (or Job's) controller would create it."""
    template = owner["spec"]["template"]
    metadata = template.get("metadata", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": overlay.namespace,
            "labels": metadata.get("labels", {}),
            "annotations": metadata.get("annotations", {}),
        },
        "spec": template["spec"],
    }


def parse_args(args: list[str]) -> dict[str, str]:
    """daprd's arguments as {flag: value}; a flag without a value maps to "true"."""
    parsed: dict[str, str] = {}
    index = 0
    while index < len(args):
        flag = args[index]
        if "=" in flag:
            key, value = flag.split("=", 1)
            parsed[key] = value
            index += 1
        elif index + 1 < len(args) and not args[index + 1].startswith("--"):
            parsed[flag] = args[index + 1]
            index += 2
        else:
            parsed[flag] = "true"
            index += 1
    return parsed


def _env_secret(container: dict[str, Any], name: str) -> tuple[str, str] | None:
    for item in container.get("env", []):
        if item["name"] == name:
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            return (ref["name"], ref["key"]) if ref else None
    return None


class Expectations:
    """Compares one injected pod with its Deployment; collects every difference."""

    def __init__(self, annotations: dict[str, str]) -> None:
        self.annotations = annotations
        self.differences: list[str] = []
        self.checked: list[str] = []

    def annotation(self, key: str) -> str:
        return str(self.annotations.get(key, DAPR_DEFAULTS.get(key, "")))

    def expect(self, what: str, actual: Any, expected: Any) -> None:
        self.checked.append(what)
        if actual != expected:
            self.differences.append(f"{what}: expected {expected!r}, got {actual!r}")


def _probe_timings(probe: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        probe.get("initialDelaySeconds", 0),
        probe.get("timeoutSeconds", 1),
        probe.get("periodSeconds", 10),
        probe.get("failureThreshold", 3),
    )


def _declared_probe(e: Expectations, kind: str) -> tuple[int, int, int, int]:
    prefix = f"dapr.io/sidecar-{kind}-probe-"
    return (
        int(e.annotation(prefix + "delay-seconds")),
        int(e.annotation(prefix + "timeout-seconds")),
        int(e.annotation(prefix + "period-seconds")),
        int(e.annotation(prefix + "threshold")),
    )


def check_injection(overlay: Overlay, pod: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """Every difference between the injected pod and what the Deployment declares."""
    annotations = template["metadata"]["annotations"]
    e = Expectations(annotations)
    spec = pod["spec"]
    containers = {c["name"]: c for c in spec.get("containers", [])}
    sidecars = {c["name"]: c for c in spec.get("initContainers", [])}
    daprd = containers.get(SIDECAR) or sidecars.get(SIDECAR)
    if daprd is None:
        return [f"no {SIDECAR} container was injected (containers: {sorted(containers)})"]
    args = parse_args(daprd.get("args", []))
    e.expect("--app-id", args.get("--app-id"), annotations["dapr.io/app-id"])
    e.expect("--app-port", args.get("--app-port"), annotations["dapr.io/app-port"])
    e.expect("--app-protocol", args.get("--app-protocol"), e.annotation("dapr.io/app-protocol"))
    e.expect("--config", args.get("--config"), annotations["dapr.io/config"])
    e.expect("--log-level", args.get("--log-level"), e.annotation("dapr.io/log-level"))
    e.expect(
        "--log-as-json", args.get("--log-as-json", "false"), e.annotation("dapr.io/log-as-json")
    )
    e.expect(
        "--enable-metrics",
        args.get("--enable-metrics", "false"),
        e.annotation("dapr.io/enable-metrics"),
    )
    e.expect("--metrics-port", args.get("--metrics-port"), e.annotation("dapr.io/metrics-port"))
    e.expect(
        "--enable-app-health-check",
        args.get("--enable-app-health-check", "false"),
        e.annotation("dapr.io/enable-app-health-check"),
    )
    if e.annotation("dapr.io/enable-app-health-check") == "true":
        e.expect(
            "--app-health-check-path",
            args.get("--app-health-check-path"),
            e.annotation("dapr.io/app-health-check-path"),
        )
    e.expect(
        "--dapr-graceful-shutdown-seconds",
        args.get("--dapr-graceful-shutdown-seconds"),
        e.annotation("dapr.io/graceful-shutdown-seconds"),
    )
    e.expect(
        "--dapr-internal-grpc-port",
        args.get("--dapr-internal-grpc-port"),
        e.annotation("dapr.io/internal-grpc-port"),
    )
    for variable, annotation in (
        ("APP_API_TOKEN", "dapr.io/app-token-secret"),
        ("DAPR_API_TOKEN", "dapr.io/api-token-secret"),
    ):
        expected = (annotations[annotation], "token") if annotation in annotations else None
        e.expect(f"daprd env {variable}", _env_secret(daprd, variable), expected)

    resources = daprd.get("resources", {})
    for kind, resource in (
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "cpu"),
        ("limits", "memory"),
    ):
        key = f"dapr.io/sidecar-{resource}-{'request' if kind == 'requests' else 'limit'}"
        e.expect(
            f"daprd {kind}.{resource}", resources.get(kind, {}).get(resource), annotations.get(key)
        )

    ports = {p.get("name"): p["containerPort"] for p in daprd.get("ports", [])}
    # Both probes ask daprd's public port (--dapr-public-port, not a declared
    # container port): liveness a TCP or HTTP check, readiness GET /v1.0/healthz.
    public_port = int(args.get("--dapr-public-port", "0"))
    for kind in ("liveness", "readiness"):
        probe = daprd.get(f"{kind}Probe") or {}
        handler = probe.get("httpGet") or probe.get("tcpSocket") or {}
        e.expect(f"daprd {kind} probe port", handler.get("port"), public_port)
        if "httpGet" in probe or kind == "readiness":
            e.expect(
                f"daprd {kind} probe path", probe.get("httpGet", {}).get("path"), "/v1.0/healthz"
            )
        e.expect(
            f"daprd {kind} probe (delay, timeout, period, threshold)",
            _probe_timings(probe),
            _declared_probe(e, kind),
        )

    # What the NetworkPolicy relies on: the label, and the ports it opens.
    e.expect(
        f"pod label {INJECTED_LABEL}", pod["metadata"].get("labels", {}).get(INJECTED_LABEL), "true"
    )
    policy_ports = {
        port["port"]
        for policy in overlay.find("NetworkPolicy")
        for rule in policy["spec"].get("ingress", [])
        for port in rule.get("ports", [])
    }
    internal = int(e.annotation("dapr.io/internal-grpc-port"))
    e.expect("daprd declares the internal gRPC port", internal in ports.values(), True)
    e.expect("NetworkPolicy opens the internal gRPC port", internal in policy_ports, True)
    metrics = int(e.annotation("dapr.io/metrics-port"))
    e.expect("daprd declares the metrics port", metrics in ports.values(), True)
    e.expect("NetworkPolicy opens the metrics port", metrics in policy_ports, True)

    # The sidecar must run under the pod's restrictions as the app does.
    security = daprd.get("securityContext", {})
    e.expect("daprd runAsNonRoot", security.get("runAsNonRoot"), True)
    e.expect("daprd readOnlyRootFilesystem", security.get("readOnlyRootFilesystem"), True)
    e.expect("daprd allowPrivilegeEscalation", security.get("allowPrivilegeEscalation"), False)

    # The app container keeps what we declared, and learns the sidecar's ports.
    declared = next(c for c in template["spec"]["containers"] if c["name"] == APP_CONTAINER)
    app = containers[APP_CONTAINER]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        e.expect(
            f"app {probe}",
            app.get(probe, {}).get("httpGet", {}).get("path"),
            declared.get(probe, {}).get("httpGet", {}).get("path"),
        )
    e.expect("app resources", app.get("resources"), declared.get("resources"))
    app_env = {item["name"]: item for item in app.get("env", [])}
    http_port = args.get("--dapr-http-port")
    e.expect("app env DAPR_HTTP_PORT", app_env.get("DAPR_HTTP_PORT", {}).get("value"), http_port)
    # The injector gives the app only the sidecar's ports and protocol: the
    # tokens reach the app only because the Deployment declares them too.
    added = set(app_env) - {item["name"] for item in declared.get("env", [])}
    e.expect("env the injector adds to the app", sorted(added), sorted(INJECTED_APP_ENV))
    for variable in ("APP_API_TOKEN", "DAPR_API_TOKEN"):
        e.expect(
            f"app env {variable} (same Secret as daprd)",
            _env_secret(app, variable),
            _env_secret(daprd, variable),
        )
    say(f"{overlay.name}: {len(e.checked)} checks of the injected pod")
    return e.differences


def check_injector(cluster: Cluster, overlay: Overlay) -> list[str]:
    """Create the Deployment's pod and check the injection; returns Pod Security warnings."""
    manifest = pod_from_template(
        overlay, the_deployment(overlay), "customer-service-injection-check"
    )
    created = cluster.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(manifest))
    pod = json.loads(created.stdout)
    # Kept with the logs (--keep): what an operator's pod will look like.
    (cluster.logs / f"injected-pod-{overlay.name}.json").write_text(created.stdout)
    template = the_deployment(overlay)["spec"]["template"]
    differences = check_injection(overlay, pod, template)
    if differences:
        raise CheckFailed(
            f"{overlay.name}: the injected pod differs from the Deployment:\n  "
            + "\n  ".join(differences)
        )
    daprd = next(c for c in pod["spec"]["containers"] if c["name"] == SIDECAR)
    say(f"{overlay.name}: daprd injected as declared: {' '.join(daprd.get('args', []))}")

    # Jobs (the migration) that opt out with dapr.io/enabled: "false" get no sidecar.
    for job in overlay.find("Job"):
        annotations = job["spec"]["template"].get("metadata", {}).get("annotations", {})
        if annotations.get("dapr.io/enabled") == "true":
            continue
        manifest = pod_from_template(overlay, job, f"{job['metadata']['name']}-check")
        spec = json.loads(
            cluster.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(manifest)).stdout
        )["spec"]
        names = [c["name"] for c in spec.get("containers", []) + spec.get("initContainers", [])]
        if SIDECAR in names:
            raise CheckFailed(f"{overlay.name}: Job {job['metadata']['name']} got a sidecar")
        say(f"{overlay.name}: Job {job['metadata']['name']}: no sidecar ({', '.join(names)})")
    return warnings(created.stderr)


def check_restricted_sidecar(cluster: Cluster, injector: Injector, overlay: Overlay) -> None:
    """With the chart's sidecarDropALLCapabilities=true the whole pod is "restricted"."""
    injector.restart(SIDECAR_DROP_ALL_CAPABILITIES="true")
    manifest = pod_from_template(
        overlay, the_deployment(overlay), "customer-service-restricted-check"
    )
    created = cluster.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(manifest))
    daprd = next(
        c for c in json.loads(created.stdout)["spec"]["containers"] if c["name"] == SIDECAR
    )
    dropped = daprd.get("securityContext", {}).get("capabilities", {}).get("drop")
    if warnings(created.stderr) or dropped != ["ALL"]:
        raise CheckFailed(
            f"with SIDECAR_DROP_ALL_CAPABILITIES=true the pod is still not restricted: "
            f"drop={dropped}\n{created.stderr}"
        )
    say(
        "with the injector's SIDECAR_DROP_ALL_CAPABILITIES=true (chart value "
        "dapr_sidecar_injector.sidecarDropALLCapabilities) the pod is 'restricted'"
    )


def note_worker(overlay: Overlay) -> None:
    """Says so when no container of the pod runs the worker process (worker/)."""
    containers = the_deployment(overlay)["spec"]["template"]["spec"]["containers"]
    if any("worker" in [*c.get("command", []), *c.get("args", [])] for c in containers):
        return
    say(
        f"note: {overlay.name}: no container of the Deployment runs `python -m worker` "
        "(the projector, order events, reconciler, status report): the image has it, "
        "make image-check runs it beside the API, and without it the health route answers 503"
    )


# --- main --------------------------------------------------------------------------


def run(tools: Path, keep: bool) -> float:
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="customer-service-k8s-check-"))
    cluster = Cluster(tools, root)
    try:
        cluster.start()
        version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
        say(
            f"kube-apiserver {version['serverVersion']['gitVersion']} on 127.0.0.1:{cluster.port}, "
            f"kubectl {version['clientVersion']['gitVersion']}"
        )
        crds = [str(tools / "dapr-crds" / name) for name in DAPR_CRDS]
        cluster.kubectl("apply", "--server-side", *[arg for crd in crds for arg in ("-f", crd)])
        cluster.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            *[
                f"crd/{doc['metadata']['name']}"
                for crd in crds
                for doc in yaml.safe_load_all(Path(crd).read_text())
                if doc
            ],
        )
        say(f"Dapr {cluster.dapr_version} CRDs installed: {', '.join(DAPR_CRDS)}")
        overlays = [
            render(cluster, path) for path in sorted((K8S / "overlays").iterdir()) if path.is_dir()
        ]
        for overlay in overlays:
            check_overlay(cluster, overlay)
        check_strictness(cluster, overlays[0])
        injector = start_dapr_control_plane(cluster)
        say("sentry (insecure validator) and the injector are up; webhook registered")
        notes = {line for overlay in overlays for line in check_injector(cluster, overlay)}
        for line in sorted(notes):
            # Not our manifests': the injector's defaults (see README, deploy section).
            say(f"note: with the injector's default settings, the API server warns: {line}")
        check_restricted_sidecar(cluster, injector, overlays[0])
        for overlay in overlays:
            note_worker(overlay)
    except BaseException:
        print(f"k8s-check: logs are in {cluster.logs}", file=sys.stderr)
        keep = True
        raise
    finally:
        cluster.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.k8s_check")
    parser.add_argument(
        "--tools",
        type=Path,
        default=Path(os.environ.get("K8S_TOOLS_DIR", DEFAULT_TOOLS)),
        help="where scripts/install-k8s-tools.sh put bin/ and dapr-crds/",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    arguments = parser.parse_args()
    try:
        seconds = run(arguments.tools, arguments.keep)
    except (CheckFailed, StartupError) as exc:
        print(f"k8s-check: FAILED: {exc}", file=sys.stderr)
        return 1
    say(f"passed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
