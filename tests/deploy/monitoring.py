"""deploy/monitoring's files, and the PrometheusRule made from the plain rules file.

Regenerate the PrometheusRule after editing deploy/monitoring/rules.yml:
    .venv/bin/python -m tests.deploy.monitoring > deploy/monitoring/prometheus-rule.yaml
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "rules.yml"
PROMETHEUS_RULE = MONITORING / "prometheus-rule.yaml"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "mp3converter.json"
COMPOSE_PROMETHEUS = MONITORING / "prometheus.yml"

HEADER = """\
# GENERATED from deploy/monitoring/rules.yml: do not edit, regenerate with
#   .venv/bin/python -m tests.deploy.monitoring > deploy/monitoring/prometheus-rule.yaml
# (tests/deploy/test_monitoring.py fails when the two differ).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: mp3converter
  labels:
    # kube-prometheus-stack's Prometheus selects rules by its release name: set yours.
    release: kube-prometheus-stack
spec:
"""


def prometheus_rule_text() -> str:
    """rules.yml's groups, comments and all, under a PrometheusRule's spec."""
    text = RULES.read_text()
    body = text[re.search(r"^groups:", text, re.MULTILINE).start() :]  # type: ignore[union-attr]
    return HEADER + "".join(f"  {line}" if line.strip() else line for line in body.splitlines(True))


def dashboard() -> dict[str, Any]:
    """The Grafana dashboard."""
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_queries(rate_interval: str = "1m") -> list[tuple[str, list[str]]]:
    """Each panel's title and PromQL queries, Grafana's $__rate_interval replaced."""
    return [
        (
            panel["title"],
            [
                target["expr"].replace("$__rate_interval", rate_interval)
                for target in panel["targets"]
            ],
        )
        for panel in dashboard()["panels"]
        if panel["type"] != "row"
    ]


if __name__ == "__main__":
    print(prometheus_rule_text(), end="")
