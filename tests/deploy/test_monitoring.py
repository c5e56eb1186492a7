"""deploy/monitoring: the PrometheusRule is the plain rules file, the Kubernetes objects are well
formed, the dashboard and the rules use metrics that exist, compose serves them as the dev stack
does."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from mp3converter.config import OPS_PORT_OFFSET, ROLE_PORTS
from mp3converter.devstack.monitoring import RABBITMQ_FAMILIES, prometheus_config
from tests.deploy.helpers import load_compose
from tests.deploy.kustomize import Manifest, of_kind, prepare, render
from tests.deploy.monitoring import (
    COMPOSE_PROMETHEUS,
    DASHBOARD,
    MONITORING,
    PROMETHEUS_RULE,
    RULES,
    dashboard,
    dashboard_queries,
    prometheus_rule_text,
)

# The modules that define the roles' metrics (importing them registers the metrics).
METRIC_MODULES = (
    "mp3converter.web.metrics",
    "mp3converter.usecases.convert_job",
    "mp3converter.usecases.uploads",
    "mp3converter.usecases.notify",
    "mp3converter.usecases.webhook_delivery",
    "mp3converter.usecases.retention",
    "mp3converter.api.routes.downloads",
    "mp3converter.api.routes.uploads",
)
# What rabbitmq_prometheus exports at /metrics/detailed for RABBITMQ_FAMILIES (seen with curl on
# RabbitMQ 3.10; tests/e2e/test_monitoring.py checks that queries on them return data).
RABBITMQ_METRICS = {
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers",
}
DURATION = re.compile(r"^\d+[smhd]$")
METRIC_NAME = re.compile(r"\b((?:mp3converter|rabbitmq)_[a-z0-9_]+|up)\b(?=\s*[{\[)])")
SEVERITIES = {"warning", "critical"}


def exported_metric_names() -> set[str]:
    """Every sample name the roles can expose, from the metric definitions in the code."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("mp3converter_")
        for suffix in suffixes.get(family.type, ("",))
    }


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (recording rules' names excluded)."""
    return set(METRIC_NAME.findall(expr))


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    return render(prepare(tmp_path_factory.mktemp("k8s")) / "overlays" / "production")


def test_prometheus_rule_is_generated_from_the_rules_file() -> None:
    assert PROMETHEUS_RULE.read_text() == prometheus_rule_text(), (
        "regenerate: .venv/bin/python -m tests.deploy.monitoring > " + str(PROMETHEUS_RULE)
    )
    assert yaml.safe_load(PROMETHEUS_RULE.read_text())["spec"] == yaml.safe_load(RULES.read_text())


def test_production_carries_the_rules_as_a_prometheus_rule(production: list[Manifest]) -> None:
    rule = of_kind(production, "PrometheusRule")["mp3converter"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(rule["spec"]) == {"groups"}
    assert rule["spec"]["groups"] == rule_groups()
    names = [group["name"] for group in rule["spec"]["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}, group["name"]
        for entry in group["rules"]:
            assert ("record" in entry) != ("alert" in entry), entry
            assert isinstance(entry["expr"], str), entry
            assert entry["expr"].strip(), entry
            if "record" in entry:
                assert set(entry) <= {"record", "expr", "labels"}, entry
                assert re.fullmatch(r"[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+", entry["record"])
                continue
            assert set(entry) <= {"alert", "expr", "for", "labels", "annotations"}, entry
            assert DURATION.match(entry["for"]), entry["alert"]
            assert entry["labels"]["severity"] in SEVERITIES, entry["alert"]
            assert {"summary", "description"} <= set(entry["annotations"]), entry["alert"]
            for value in [*entry["labels"].values(), *entry["annotations"].values()]:
                assert isinstance(value, str), entry["alert"]


def test_minikube_needs_no_monitoring_crds(tmp_path: Path) -> None:
    manifests = render(prepare(tmp_path) / "overlays" / "minikube")
    assert not {"PrometheusRule", "PodMonitor"} & {m["kind"] for m in manifests}


def test_pod_monitor_scrapes_every_roles_ops_port_as_the_rules_expect(
    production: list[Manifest],
) -> None:
    monitor = of_kind(production, "PodMonitor")["mp3converter"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "podMetricsEndpoints", "namespaceSelector"}
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name"
    assert expression["operator"] == "In"
    deployments = of_kind(production, "Deployment")
    selected = {
        name
        for name, deployment in deployments.items()
        if deployment["spec"]["template"]["metadata"]["labels"].get(expression["key"])
        in expression["values"]
    }
    assert selected == set(ROLE_PORTS)
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True
    for deployment in deployments.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert endpoint["port"] in [port["name"] for port in container["ports"]]
    targets = {r["targetLabel"]: r for r in endpoint["relabelings"]}
    assert targets["job"]["replacement"] == "mp3converter"  # up{job="mp3converter"} in the rules
    assert targets["role"]["sourceLabels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert 'up{job="mp3converter"}' in RULES.read_text()


def test_dashboard_config_map_is_the_dashboard_file(production: list[Manifest]) -> None:
    config_map = of_kind(production, "ConfigMap")["mp3converter-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["data"] == {"mp3converter.json": DASHBOARD.read_text()}


def test_rules_and_dashboard_use_metrics_that_exist() -> None:
    exported = exported_metric_names() | RABBITMQ_METRICS | {"up"}
    assert "mp3converter_downloaded_bytes_total" in exported
    expressions = [rule["expr"] for group in rule_groups() for rule in group["rules"]]
    expressions += [expr for _, queries in dashboard_queries() for expr in queries]
    used: set[str] = set()
    for expr in expressions:
        used |= metric_names(expr)
    assert used - exported == set(), f"metrics nobody exports: {sorted(used - exported)}"
    assert len(used) >= 12


def test_dashboard_has_the_panels_an_operator_needs() -> None:
    queries = " ".join(expr for _, exprs in dashboard_queries() for expr in exprs)
    for needed in (
        "mp3converter_jobs_finished_total",  # jobs by outcome, failures by code
        "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_consumers",
        'queue=~".+\\\\.dead"',
        "histogram_quantile(0.5, sum by (le) (rate(mp3converter_conversion_seconds_bucket",
        "histogram_quantile(0.95, sum by (le) (rate(mp3converter_conversion_seconds_bucket",
        "mp3converter_uploaded_bytes_total",
        "mp3converter_downloaded_bytes_total",
        "mp3converter_http_request_seconds_bucket",
        'status=~"5.."',
        'status=~"413|429"',
    ):
        assert needed in queries, needed
    panels = [p for p in dashboard()["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]


def _compose_targets() -> dict[str, str]:
    return {role: f"{role}:{port + OPS_PORT_OFFSET}" for role, port in ROLE_PORTS.items()}


def test_compose_prometheus_config_is_the_dev_stack_config_with_service_names() -> None:
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())
    expected = prometheus_config(
        _compose_targets(), "rabbitmq:15692", ["/etc/prometheus/rules.yml"]
    )
    assert config == expected
    (rabbitmq,) = [job for job in config["scrape_configs"] if job["job_name"] == "rabbitmq"]
    assert rabbitmq["params"]["family"] == RABBITMQ_FAMILIES


def test_compose_config_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: make bootstrap installs Debian's prometheus package"
    shutil.copy(RULES, tmp_path / "rules.yml")
    text = COMPOSE_PROMETHEUS.read_text().replace("/etc/prometheus/rules.yml", "rules.yml")
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_mounts_the_monitoring_files_where_they_are_read() -> None:
    services = load_compose()["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"] if v.startswith("./")}
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/monitoring/prometheus.yml"
    assert mounts["/etc/prometheus/rules.yml"] == "./deploy/monitoring/rules.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana_mounts = {
        v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")
    }
    provisioning = MONITORING / "grafana" / "provisioning"
    assert grafana_mounts["/etc/grafana/provisioning"] == "./deploy/monitoring/grafana/provisioning"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "mp3converter.yml").read_text())[
        "providers"
    ]
    dashboards_dir = provider["options"]["path"]
    assert grafana_mounts[dashboards_dir] == "./" + str(
        DASHBOARD.parent.relative_to(MONITORING.parents[1])
    )
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    for published in [*prometheus["ports"], *grafana["ports"]]:
        assert str(published).startswith("127.0.0.1:"), published
