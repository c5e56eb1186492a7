"""Prometheus for `MONITORING=1 make run`: the project's rules, every role's /metrics and
RabbitMQ's rabbitmq_prometheus plugin, on 127.0.0.1 only, data under the data directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from mp3converter.devstack.secantus import stop_process

RULES_FILE = Path(__file__).resolve().parents[3] / "deploy" / "monitoring" / "rules.yml"
PROMETHEUS_PORT = 9090
RABBITMQ_METRICS = "127.0.0.1:15692"
# Per-queue depth and consumers without every other per-object family (cheap on big brokers).
RABBITMQ_FAMILIES = ["queue_coarse_metrics", "queue_consumer_count"]
START_TIMEOUT_SECONDS = 30.0


def prometheus_config(
    role_targets: Mapping[str, str],
    rabbitmq_target: str | None,
    rule_files: Sequence[str],
    interval: str = "15s",
) -> dict[str, Any]:
    """Scrape each role's ops listener (labelled with its role) and RabbitMQ's per-queue metrics.

    honor_labels: the HTTP metrics carry the same `role` label as the target; keep theirs.
    """
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": list(rule_files),
        "scrape_configs": [
            {
                "job_name": "mp3converter",
                "honor_labels": True,
                "static_configs": [
                    {"targets": [target], "labels": {"role": role}}
                    for role, target in role_targets.items()
                ],
            }
        ],
    }
    if rabbitmq_target is not None:
        config["scrape_configs"].append(
            {
                "job_name": "rabbitmq",
                "metrics_path": "/metrics/detailed",
                "params": {"family": RABBITMQ_FAMILIES},
                "static_configs": [{"targets": [rabbitmq_target]}],
            }
        )
    return config


def prometheus_binary() -> str:
    """Debian's `prometheus` (scripts/bootstrap.sh installs the package)."""
    found = shutil.which("prometheus")
    if found is None:
        raise FileNotFoundError("prometheus not found: run `make bootstrap` (Debian's package)")
    return found


def start_prometheus(
    config: dict[str, Any], home: Path, port: int, log_file: Path
) -> subprocess.Popen[bytes]:
    """Write the config under `home`, start Prometheus on 127.0.0.1:port, wait until ready."""
    home.mkdir(parents=True, exist_ok=True)
    config_file = home / "prometheus.yml"
    config_file.write_text(json.dumps(config, indent=2))  # JSON is YAML: no YAML library needed
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={home / 'data'}",
                "--storage.tsdb.retention.time=7d",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/-/ready", process)
    except BaseException:
        stop_process(process)
        raise
    return process


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"prometheus did not become ready at {url}")


def start_dev_prometheus(
    data_dir: Path, ops_ports: Mapping[str, int], port: int = PROMETHEUS_PORT
) -> subprocess.Popen[bytes]:
    """Prometheus for the dev stack: its config and data in data_dir/prometheus."""
    targets = {role: f"127.0.0.1:{ops}" for role, ops in ops_ports.items()}
    config = prometheus_config(targets, RABBITMQ_METRICS, [str(RULES_FILE)])
    return start_prometheus(config, data_dir / "prometheus", port, data_dir / "logs/prometheus.log")
