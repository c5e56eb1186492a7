"""`make run`: the whole platform on this machine, stopped together with Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from mp3converter.config import OPS_PORT_OFFSET, ROLE_PORTS, Settings
from mp3converter.devstack.monitoring import PROMETHEUS_PORT, start_dev_prometheus
from mp3converter.devstack.processes import RoleProcesses, base_environment, role_environment
from mp3converter.devstack.secantus import mongodb_url, start_secantus, stop_process

DEFAULT_ADMIN_EMAIL = "admin@mp3converter.com"
SECANTUS_PORT = 27018


class Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop


def admin_credentials(settings: Settings, data_dir: Path) -> tuple[str, str]:
    """ADMIN_EMAIL/ADMIN_PASSWORD, or a password generated once and kept in the data directory."""
    email = settings.admin_email or DEFAULT_ADMIN_EMAIL
    if settings.admin_password is not None:
        return email, settings.admin_password.get_secret_value()
    stored = data_dir / "admin-password"
    if stored.exists():
        return email, stored.read_text().strip()
    password = secrets.token_urlsafe(18)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    print(f"generated admin password (shown once, kept in {stored}): {email} / {password}")
    return email, password


def run_dev_stack(settings: Settings) -> int:
    """Start MongoDB (or use MONGODB_URL), check RabbitMQ, run the roles until Ctrl-C."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    database: subprocess.Popen[bytes] | None = None
    prometheus: subprocess.Popen[bytes] | None = None
    roles: RoleProcesses | None = None
    try:
        url = os.environ.get("MONGODB_URL")
        if not url:
            port = int(os.environ.get("SECANTUS_PORT", SECANTUS_PORT))
            print(f"starting SecantusDB on 127.0.0.1:{port} (data in {data_dir / 'db'})")
            database = start_secantus(data_dir / "db", port, data_dir / "secantusdb.log")
            url = mongodb_url(port)
        email, password = admin_credentials(settings, data_dir)
        ports = {
            role: int(os.environ.get(f"{role.upper()}_PORT", default))
            for role, default in ROLE_PORTS.items()
        }
        ops_ports = {
            role: int(os.environ.get(f"{role.upper()}_OPS_PORT", port + OPS_PORT_OFFSET))
            for role, port in ports.items()
        }
        env = role_environment(
            base_environment(
                {
                    "MONGODB_URL": url,
                    "DATA_DIR": str(data_dir),
                    "ADMIN_EMAIL": email,
                    "ADMIN_PASSWORD": password,
                    # Lines for people on the terminal; LOG_FORMAT=json for the real thing.
                    "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
                }
            ),
            ports,
        )
        roles = RoleProcesses(env, ports, ops_ports, log_dir=data_dir / "logs")
        roles.start()
        roles.wait_ready()
        if os.environ.get("MONITORING") == "1":
            at = int(os.environ.get("PROMETHEUS_PORT", PROMETHEUS_PORT))
            prometheus = start_dev_prometheus(data_dir, ops_ports, at)
            print(f"Prometheus (rules of deploy/monitoring) at http://127.0.0.1:{at}")
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        print(f"\nmp3converter is up at {gateway} (API docs: {gateway}/docs)")
        print(f"web UI: {gateway}/ (open it in a browser and sign in)")
        print(f"admin: {email} (password from ADMIN_PASSWORD or {data_dir}/admin-password)")
        print("Ctrl-C stops everything.\n", flush=True)
        while True:  # a role that exits is started again, with backoff, until Ctrl-C
            roles.supervise()
            time.sleep(0.2)
    except Stop:
        print("\nstopping mp3converter ...")
        return 0
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"mp3converter dev stack failed: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if roles is not None:
            roles.stop()
        if prometheus is not None:
            stop_process(prometheus)
        if database is not None:
            stop_process(database)
