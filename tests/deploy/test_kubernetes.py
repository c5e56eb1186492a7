"""The Kubernetes manifests: every overlay renders, validates against the schemas, and keeps the
invariants an operator would demand (probes, limits, non-root, pinned images, no literal secrets,
network isolation, the ingress for mp3converter.com)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from mp3converter.adapters.rabbitmq import Topology
from mp3converter.config import Settings
from tests.deploy.kustomize import (
    K8S,
    OVERLAYS,
    ROLES,
    ROOT,
    Manifest,
    containers,
    of_kind,
    prepare,
    render,
    workloads,
)

KUBERNETES_VERSION = "1.37.0"
# Custom resources with no schema in kubernetes-validate: checked field by field below instead.
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication"}
SETTINGS = {name.upper() for name in Settings.model_fields}
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]+@")
# Names of settings whose values are secret (a *_FILE setting holds a path, not the secret).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|PRIVATE_KEY$|AMQP_URL|MONGODB_URL|USERNAME")


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/k8s with throwaway secret files, as an operator would prepare it."""
    return prepare(tmp_path_factory.mktemp("k8s"))


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    """Each overlay in turn."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def rendered(k8s_copy: Path, overlay: str) -> list[Manifest]:
    """The overlay's objects."""
    return render(k8s_copy / "overlays" / overlay)


def config(manifests: list[Manifest]) -> dict[str, str]:
    """The settings ConfigMap's data."""
    (found,) = [m for m in manifests if m["metadata"]["name"].startswith("mp3converter-config")]
    data: dict[str, str] = found["data"]
    return data


def test_base_renders_and_validates(k8s_copy: Path) -> None:
    for manifest in render(k8s_copy / "base"):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_every_object_validates_against_the_kubernetes_schemas(rendered: list[Manifest]) -> None:
    checked = 0
    for manifest in rendered:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 25


def test_every_role_is_deployed_with_the_same_image(rendered: list[Manifest]) -> None:
    deployments = of_kind(rendered, "Deployment")
    assert set(deployments) == set(ROLES)
    images = set()
    for role, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["run", role]
        images.add(container["image"])
    assert len(images) == 1


def test_images_are_pinned(rendered: list[Manifest]) -> None:
    for workload in workloads(rendered):
        for container in containers(workload):
            name, _, tag = container["image"].rpartition(":")
            assert name, container["image"]
            assert tag, container["image"]
            assert "/" not in tag
            assert tag != "latest"
            assert re.search(r"\d", tag), container["image"]


def test_every_container_has_probes_limits_and_runs_unprivileged(rendered: list[Manifest]) -> None:
    for workload in workloads(rendered):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container, where
            assert "readinessProbe" in container, where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) >= {"cpu", "memory"}, where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where


def test_roles_probe_health_and_readiness_on_a_read_only_root(rendered: list[Manifest]) -> None:
    for role, deployment in of_kind(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        env = {e["name"]: e for e in container.get("env", [])}
        writable = [config(rendered)["DATA_DIR"], "/tmp"]
        if role == "converter":
            writable.append(env["WORK_DIR"]["value"])
        for path in writable:
            assert "emptyDir" in volumes[mounts[path]], (role, path)


def test_settings_come_from_the_project_and_secrets_from_secrets(rendered: list[Manifest]) -> None:
    data = config(rendered)
    assert set(data) <= SETTINGS, set(data) - SETTINGS
    for key, value in data.items():
        assert not SECRET_NAME.search(key), key
        assert not CREDENTIALS_IN_URL.search(value), key
    for deployment in of_kind(rendered, "Deployment").values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        for variable in container.get("env", []):
            assert variable["name"] in SETTINGS, variable["name"]
            if SECRET_NAME.search(variable["name"]):
                assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def test_no_secret_value_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/k8s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        assert not name.endswith((".pem", "secrets.env")), name
        text = (ROOT / name).read_text()
        assert "PRIVATE KEY" not in text, name
        for match in CREDENTIALS_IN_URL.finditer(text):
            assert "change-me" in text[match.start() : match.end() + 40], name
    for overlay in OVERLAYS:
        kustomization = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
        assert "literals" not in kustomization.split("secretGenerator:")[1], overlay
        for ignored in ("secrets.env", "jwt-ed25519.pem"):
            path = f"deploy/k8s/overlays/{overlay}/{ignored}"
            check = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
            assert check.returncode == 0, f"{path} is not git-ignored"


def test_network_policies_isolate_the_roles(rendered: list[Manifest]) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    deny = policies["default-deny-ingress"]
    assert deny["spec"]["podSelector"] == {}
    assert "ingress" not in deny["spec"]
    (rule,) = policies["gateway-from-ingress"]["spec"]["ingress"]
    (source,) = rule["from"]
    assert source == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    for name, policy in policies.items():
        if name in ("default-deny-ingress", "gateway-from-ingress", "metrics-from-monitoring"):
            continue
        for ingress_rule in policy["spec"]["ingress"]:
            for peer in ingress_rule["from"]:
                assert "namespaceSelector" not in peer, name  # only pods of this namespace


def _allowed_roles(policy: Manifest) -> set[str]:
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    (expression,) = peer["podSelector"]["matchExpressions"]
    assert expression["operator"] == "In"
    return set(expression["values"])


def test_minikube_data_services_accept_only_the_roles_that_use_them(k8s_copy: Path) -> None:
    manifests = render(k8s_copy / "overlays" / "minikube")
    assert set(of_kind(manifests, "StatefulSet")) == {"mongodb", "rabbitmq"}
    for statefulset in of_kind(manifests, "StatefulSet").values():
        assert statefulset["spec"]["volumeClaimTemplates"]
    policies = of_kind(manifests, "NetworkPolicy")
    assert _allowed_roles(policies["mongodb-from-roles"]) == {
        "auth",
        "upload",
        "converter",
        "notification",
    }
    assert _allowed_roles(policies["rabbitmq-from-roles"]) == {
        "upload",
        "converter",
        "notification",
    }
    services = of_kind(manifests, "Service")
    assert services["mongodb"]["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert services["rabbitmq"]["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert "HorizontalPodAutoscaler" in {m["kind"] for m in manifests}
    assert "converter" in of_kind(manifests, "HorizontalPodAutoscaler")


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def test_ingress_routes_mp3converter_com_to_the_gateway_for_large_uploads(
    rendered: list[Manifest],
) -> None:
    (ingress,) = of_kind(rendered, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "mp3converter.com"
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == "gateway"
    gateway = of_kind(rendered, "Service")["gateway"]
    (port,) = [p for p in gateway["spec"]["ports"] if p["name"] == backend["port"]["name"]]
    (container,) = of_kind(rendered, "Deployment")["gateway"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["ports"][0]["name"] == port["targetPort"]
    annotations = ingress["metadata"]["annotations"]
    limit = int(config(rendered)["MAX_UPLOAD_BYTES"])
    body = _bytes(annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
    assert limit <= body <= limit + (16 << 20)
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 600


def test_disruption_budgets_and_gateway_autoscaling(rendered: list[Manifest]) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget")
    assert set(ROLES) <= set(budgets)
    for role in ROLES:
        assert budgets[role]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": role}
    gateway = of_kind(rendered, "HorizontalPodAutoscaler")["gateway"]
    assert gateway["spec"]["scaleTargetRef"]["name"] == "gateway"
    assert gateway["spec"]["minReplicas"] >= 2


def test_production_scales_converters_on_the_convert_queue(k8s_copy: Path) -> None:
    manifests = render(k8s_copy / "overlays" / "production")
    assert "converter" not in of_kind(manifests, "HorizontalPodAutoscaler")
    scaled = of_kind(manifests, "ScaledObject")["converter"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "converter"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    prefix = config(manifests)["BROKER_PREFIX"]
    assert trigger["metadata"]["queueName"] == Topology(prefix).convert
    auth = of_kind(manifests, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    (secret_ref,) = auth["spec"]["secretTargetRef"]
    secrets = of_kind(manifests, "Secret")  # names carry kustomize's content hash
    assert secret_ref["name"] in secrets
    assert secret_ref["name"].startswith("mp3converter-secrets-")
    assert secret_ref["key"] in secrets[secret_ref["name"]]["data"]
    assert not of_kind(manifests, "StatefulSet")


def test_production_settings_pass_each_roles_start_up_checks(
    k8s_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the production overlay gives each role would be accepted by that role at start."""
    manifests = render(k8s_copy / "overlays" / "production")
    assert config(manifests)["ENVIRONMENT"] == "production"
    example = K8S / "overlays" / "production" / "secrets.env.example"
    secret_values = dict(
        line.split("=", 1) for line in example.read_text().splitlines() if line and line[0] != "#"
    )
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for role, deployment in of_kind(manifests, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = dict(config(manifests))
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            else:
                env[variable["name"]] = secret_values[variable["valueFrom"]["secretKeyRef"]["key"]]
        with monkeypatch.context() as scoped:
            for key, value in env.items():
                scoped.setenv(key, value)
            assert Settings(role=role).is_production
