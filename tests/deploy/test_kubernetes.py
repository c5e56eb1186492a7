"""The Kubernetes manifests: every overlay renders, validates against the schemas, and keeps the
invariants an operator would demand (probes, limits, non-root, pinned images, no literal secrets,
network isolation, the ingress for mp3converter.com)."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest

from mp3converter.adapters.mongo import ROLE_COLLECTIONS
from mp3converter.adapters.mongo_users import create_users_script, password_variable
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.config import OPS_PORT_OFFSET, ROLE_PORTS, Settings
from tests.deploy import network_policies
from tests.deploy.helpers import LINK_SIGNING_ROLES, env_file, secret_parts
from tests.deploy.helpers import SECRET_NAME as SECRET_VARIABLE
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
from tests.deploy.network_policies import Allowance

KUBERNETES_VERSION = "1.37.0"
# Custom resources with no schema in kubernetes-validate: checked field by field below instead.
# (The monitoring ones: tests/deploy/test_monitoring.py.)
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "PrometheusRule", "PodMonitor"}
SETTINGS = {name.upper() for name in Settings.model_fields}
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]+@")
# Names of settings whose values are secret (a *_FILE setting holds a path, not the secret).
SECRET_NAME = re.compile(
    r"PASSWORD|SECRET|TOKEN|_KEYS?$|PRIVATE_KEY$|AMQP_URL|MONGODB_URL|USERNAME"
)
# The roles that talk to RabbitMQ, and the roles called over HTTP (the others have no Service).
BROKER_ROLES = ("upload", "converter", "notification")
HTTP_CALLED_ROLES = ("gateway", "auth", "upload", "notification")
DNS = {Allowance("dns", "UDP", 53), Allowance("dns", "TCP", 53)}
# What webhook egress leaves out: private, shared, loopback and link-local (metadata) blocks.
NON_PUBLIC_BLOCKS = (
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
)
APP_UID = 10001


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
        # A whole Secret as the environment would give every role every other role's secrets.
        for source in container.get("envFrom", []):
            assert "secretRef" not in source, deployment["metadata"]["name"]


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
        if name.endswith(".env.example"):
            for key, value in env_file(ROOT / name).items():
                if SECRET_VARIABLE.search(key) and value:
                    parts = secret_parts(key, value)
                    assert all(part.startswith("change-me") for part in parts), (name, key)
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
    assert policies["gateway-from-ingress"]["spec"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": ROLE_PORTS["gateway"]}  # the http port only
    ]
    for name, policy in policies.items():
        if name in ("default-deny-ingress", "gateway-from-ingress", "metrics-from-monitoring"):
            continue
        for ingress_rule in policy["spec"].get("ingress", []):
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
    # Downloads and SSE streams reach the client as they are sent, not once NGINX has them all.
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
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
    # What an operator writes: each change-me placeholder replaced by a strong random value.
    secret_values = {
        key: re.sub(r"change-me[\w.~-]*", lambda _: secrets.token_hex(24), value)
        for key, value in env_file(example).items()
    }
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


def test_every_role_listens_on_its_http_and_ops_ports(rendered: list[Manifest]) -> None:
    # The ports are defined once, in config (ROLE_PORTS, OPS_PORT_OFFSET); the manifests must not
    # drift from it. http serves the API; ops serves /healthz, /readyz and /metrics.
    services = of_kind(rendered, "Service")
    for role, deployment in of_kind(rendered, "Deployment").items():
        http, ops = ROLE_PORTS[role], ROLE_PORTS[role] + OPS_PORT_OFFSET
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert container["ports"] == [
            {"name": "http", "containerPort": http},
            {"name": "ops", "containerPort": ops},
        ], role
        assert env.get("HTTP_PORT") == str(http), role
        assert env.get("OPS_PORT") == str(ops), role
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in ("ops", ops), (role, probe)
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(ops), role
        assert template["metadata"]["annotations"]["prometheus.io/path"] == "/metrics", role
        if role in services:
            assert services[role]["spec"]["ports"] == [
                {"name": "http", "port": http, "targetPort": "http"}
            ], role
    # A Service for each role that is called over HTTP; none exposes an ops port.
    assert set(services) & set(ROLES) == set(HTTP_CALLED_ROLES)
    settings = config(rendered)
    for key, role in (
        ("AUTH_URL", "auth"),
        ("UPLOAD_URL", "upload"),
        ("NOTIFICATION_URL", "notification"),
    ):
        if key in settings:
            assert settings[key].endswith(f":{ROLE_PORTS[role]}"), key


def _uses_mongodb(role: str) -> bool:
    return role in ROLE_COLLECTIONS


def test_each_pod_is_reached_only_by_what_needs_it(rendered: list[Manifest], overlay: str) -> None:
    assert network_policies.default_denies(rendered, "Ingress")
    expected: dict[str, set[Allowance]] = {
        role: {Allowance("namespace:monitoring", "TCP", ROLE_PORTS[role] + OPS_PORT_OFFSET)}
        for role in ROLES
    }
    expected["gateway"].add(Allowance("namespace:ingress-nginx", "TCP", ROLE_PORTS["gateway"]))
    for caller in ("gateway", "upload", "notification"):
        expected["auth"].add(Allowance(f"pod:{caller}", "TCP", ROLE_PORTS["auth"]))
    for callee in ("upload", "notification"):
        expected[callee].add(Allowance("pod:gateway", "TCP", ROLE_PORTS[callee]))
    if overlay == "minikube":
        expected["mongodb"] = {
            Allowance(f"pod:{role}", "TCP", 27017) for role in ROLES if _uses_mongodb(role)
        }
        expected["rabbitmq"] = {Allowance(f"pod:{role}", "TCP", 5672) for role in BROKER_ROLES}
    assert network_policies.allowed(rendered, "Ingress") == expected


def _egress_expected(overlay: str) -> dict[str, set[Allowance]]:
    """Each pod's egress: DNS, plus exactly what the role calls (README, "Deploy")."""
    if overlay == "minikube":
        mongodb = {Allowance("pod:mongodb", "TCP", 27017)}
        rabbitmq = {Allowance("pod:rabbitmq", "TCP", 5672)}
    else:  # managed services outside the cluster
        mongodb = {Allowance("cidr:0.0.0.0/0", "TCP", 27017)}
        rabbitmq = {Allowance("cidr:0.0.0.0/0", "TCP", port) for port in (5671, 5672)}
    auth = {Allowance("pod:auth", "TCP", ROLE_PORTS["auth"])}
    smtp = {Allowance("cidr:0.0.0.0/0", "TCP", port) for port in (25, 465, 587)}
    # Webhooks: http(s) to public addresses only (the role checks each address, too).
    public = "cidr:0.0.0.0/0" + "".join(f" except {block}" for block in NON_PUBLIC_BLOCKS)
    webhooks = {Allowance(public, "TCP", port) for port in (80, 443)}
    expected = {
        role: DNS
        | (mongodb if _uses_mongodb(role) else set())
        | (rabbitmq if role in BROKER_ROLES else set())
        for role in ROLES
    }
    expected["gateway"] |= auth | {
        Allowance(f"pod:{role}", "TCP", ROLE_PORTS[role]) for role in ("upload", "notification")
    }
    expected["upload"] |= auth  # the JWKS
    expected["notification"] |= smtp | auth | webhooks  # auth: the JWKS of the webhook routes
    if overlay == "minikube":
        expected |= {"mongodb": set(DNS), "rabbitmq": set(DNS)}  # nothing beyond DNS
    return expected


def test_egress_is_denied_by_default_and_each_pod_reaches_only_what_it_needs(
    rendered: list[Manifest], overlay: str
) -> None:
    assert network_policies.default_denies(rendered, "Egress")
    expected = _egress_expected(overlay)
    assert network_policies.allowed(rendered, "Egress") == expected


def test_every_network_policy_selects_pods_and_names_its_ports(rendered: list[Manifest]) -> None:
    pods = network_policies.pod_labels(rendered)
    for policy in network_policies.policies(rendered):
        name = policy["metadata"]["name"]
        assert any(network_policies.selected(policy, labels) for labels in pods.values()), name
        for key, side in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(key, []):
                assert rule.get(side), f"{name}: a {key} rule without peers allows any peer"
                assert rule.get("ports"), f"{name}: a {key} rule without ports allows every port"


def _secret_key(container: Manifest, variable: str) -> str | None:
    for entry in container.get("env", []):
        if entry["name"] == variable:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"].startswith("mp3converter-secrets"), (variable, ref)
            key: str = ref["key"]
            return key
    return None


def _role_containers(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {
        role: deployment["spec"]["template"]["spec"]["containers"][0]
        for role, deployment in of_kind(manifests, "Deployment").items()
    }


def test_each_role_connects_to_mongodb_as_its_own_user(
    rendered: list[Manifest], overlay: str
) -> None:
    folder = K8S / "overlays" / overlay
    values = env_file(folder / "secrets.env.example")
    keys = {role: _secret_key(c, "MONGODB_URL") for role, c in _role_containers(rendered).items()}
    assert keys.pop("gateway") is None, "the gateway uses no database"
    assert set(keys) == set(ROLE_COLLECTIONS)
    assert len(set(keys.values())) == len(keys), f"each role needs its own secret key: {keys}"
    data_accounts = folder / "data-secrets.env.example"
    accounts = env_file(data_accounts) if data_accounts.exists() else {}
    for role, key in keys.items():
        assert key in values, f"{key} is not in {overlay}/secrets.env.example"
        url = urlsplit(values[key])
        assert url.username == role, f"{role} connects as {url.username!r}"
        assert url.username != accounts.get("MONGO_INITDB_ROOT_USERNAME"), "never as root"
        # The users live in the roles' database (create-role-users.js), the one they use.
        assert parse_qs(url.query)["authSource"] == [config(rendered)["MONGODB_DB"]], role
        if accounts:
            assert url.password == accounts[password_variable(role)], role


def test_minikube_mongodb_creates_the_role_users_at_first_start(k8s_copy: Path) -> None:
    manifests = render(k8s_copy / "overlays" / "minikube")
    mongodb = of_kind(manifests, "StatefulSet")["mongodb"]
    pod = mongodb["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (mount,) = [
        m for m in container["volumeMounts"] if m["mountPath"] == "/docker-entrypoint-initdb.d"
    ]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    script = of_kind(manifests, "ConfigMap")[volume["configMap"]["name"]]
    assert script["data"] == {"create-role-users.js": create_users_script()}
    env = {entry["name"]: entry["valueFrom"] for entry in container["env"]}
    app_db = env["MONGO_APP_DB"]["configMapKeyRef"]
    assert app_db["name"].startswith("mp3converter-config")
    assert app_db["key"] == "MONGODB_DB"
    accounts = env_file(K8S / "overlays" / "minikube" / "data-secrets.env.example")
    for role in ROLE_COLLECTIONS:
        ref = env[password_variable(role)]["secretKeyRef"]
        assert ref["name"].startswith("data-credentials"), role
        assert ref["key"] in accounts, f"{ref['key']} is not in data-secrets.env.example"


def test_only_auth_mounts_the_signing_key_readable_by_the_app_user(
    rendered: list[Manifest],
) -> None:
    mounting = {}
    for role, deployment in of_kind(rendered, "Deployment").items():
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            if volume.get("secret", {}).get("secretName", "").startswith("mp3converter-jwt"):
                mounting[role] = (deployment, volume)
    assert set(mounting) == {"auth"}
    deployment, volume = mounting["auth"]
    pod = deployment["spec"]["template"]["spec"]
    mode = volume["secret"]["defaultMode"]
    assert "items" not in volume["secret"], "no per-file mode may widen the default"
    # Secret files are owned by root and, with an fsGroup, by that group: the app user reads the
    # key through its group. Nobody else may read it, and nobody may write it.
    assert pod["securityContext"]["runAsUser"] == APP_UID
    assert pod["securityContext"]["fsGroup"] == APP_UID
    assert mode & 0o040, f"{mode:o}: group {APP_UID} cannot read the key"
    assert not mode & 0o037, f"{mode:o}: the group may only read, others nothing"
    assert not mode & 0o333, f"{mode:o}: nobody writes or executes the key"
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    key_file = {e["name"]: e.get("value") for e in container["env"]}["JWT_PRIVATE_KEY_FILE"]
    assert Path(key_file).parent == Path(mount["mountPath"])


def test_link_signing_keys_come_from_the_secret_for_the_roles_that_use_them(
    rendered: list[Manifest], overlay: str
) -> None:
    assert "LINK_SIGNING_KEYS" not in config(rendered)
    secret_data = {
        key
        for name, secret in of_kind(rendered, "Secret").items()
        if name.startswith("mp3converter-secrets")
        for key in secret["data"]
    }
    for role, container in _role_containers(rendered).items():
        key = _secret_key(container, "LINK_SIGNING_KEYS")
        if role in LINK_SIGNING_ROLES:
            assert key in secret_data, role
        else:
            assert key is None, f"{role} neither signs nor verifies links"
    example = env_file(K8S / "overlays" / overlay / "secrets.env.example")
    for pair in example["LINK_SIGNING_KEYS"].split(","):
        key_id, _, secret = pair.partition(":")
        assert key_id, "each key is key_id:secret"
        assert secret.startswith("change-me"), "no real key is committed"


def test_a_converter_runs_one_job_per_cpu_of_its_limit(rendered: list[Manifest]) -> None:
    converter = of_kind(rendered, "Deployment")["converter"]
    (container,) = converter["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env["CONVERTER_CONCURRENCY"] == container["resources"]["limits"]["cpu"]
