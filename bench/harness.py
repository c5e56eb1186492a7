"""What the benchmarks share: a platform on SecantusDB with the roles they need, and a login."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx

from mp3converter.adapters.rabbitmq import Topology, delete_topology
from mp3converter.devstack.processes import RoleProcesses, base_environment, role_environment
from mp3converter.devstack.secantus import free_port, mongodb_url, start_secantus, stop_process
from mp3converter.roles import ROLES

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ADMIN_EMAIL = "admin@mp3converter.com"
ADMIN_PASSWORD = "bench-" + secrets.token_urlsafe(18)


@contextlib.contextmanager
def platform(
    tmp: Path, roles: list[str] | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[RoleProcesses]:
    """SecantusDB and the roles (all by default), ready; stopped and their queues deleted on exit."""
    prefix = f"bench-{secrets.token_hex(4)}"
    db_port = free_port()
    database: subprocess.Popen[bytes] = start_secantus(tmp / "db", db_port, tmp / "secantusdb.log")
    ports = {role: free_port() for role in ROLES}
    overrides = {
        "MONGODB_URL": mongodb_url(db_port),
        "AMQP_URL": AMQP_URL,
        "BROKER_PREFIX": prefix,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DATA_DIR": str(tmp / "data"),
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    env = role_environment(base_environment(overrides), ports)
    with (tmp / "roles.out").open("w") as sink:
        ops_ports = {role: free_port() for role in ROLES}
        processes = RoleProcesses(env, ports, ops_ports, log_dir=tmp / "logs", sink=sink)
        try:
            processes.start(roles)
            processes.wait_ready()
            yield processes
        finally:
            processes.stop()
            stop_process(database)
            asyncio.run(delete_topology(AMQP_URL, Topology(prefix)))


def login(http: httpx.Client) -> str:
    """A bearer token of the admin."""
    response = http.post("/login", auth=(ADMIN_EMAIL, ADMIN_PASSWORD))
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
