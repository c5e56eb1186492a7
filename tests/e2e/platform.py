"""The whole platform for end-to-end tests: five role processes on real services."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mp3converter.adapters.rabbitmq import Topology
from mp3converter.devstack.processes import RoleProcesses, base_environment, role_environment
from mp3converter.devstack.secantus import free_port
from mp3converter.roles import ROLES
from tests.services import AMQP_URL, Mailbox, delete_topology, unique_name

ADMIN_EMAIL = "admin@mp3converter.com"
ADMIN_PASSWORD = "e2e-admin-password-0123"
MAX_UPLOAD_BYTES = 8 * 1024 * 1024


@dataclass
class Platform:
    """A running platform and what a test needs to talk to it."""

    gateway: str
    ports: dict[str, int]
    ops_ports: dict[str, int]
    data_dir: Path
    mailbox: Mailbox
    roles: RoleProcesses

    def client(self) -> httpx.AsyncClient:
        """An HTTP client for the public entry."""
        return httpx.AsyncClient(base_url=self.gateway, timeout=30.0)

    async def token(self, email: str, password: str) -> str:
        """Log in with HTTP Basic and return the bearer token."""
        async with self.client() as client:
            response = await client.post("/login", auth=(email, password))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def wait_final(self, token: str, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the job until it is done or failed."""
        async with self.client() as client, asyncio.timeout(timeout):
            while True:
                response = await client.get(f"/jobs/{job_id}", headers=bearer(token))
                assert response.status_code == 200, response.text
                job: dict[str, Any] = response.json()
                if job["status"] in ("done", "failed"):
                    return job
                await asyncio.sleep(0.1)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def upload_file(name: str, data: bytes, content_type: str = "video/mp4") -> dict[str, Any]:
    """httpx `files=` for the multipart field `file`."""
    return {"file": (name, io.BytesIO(data), content_type)}


@contextlib.asynccontextmanager
async def running_platform(
    mongodb_url: str,
    data_dir: Path,
    mailbox: Mailbox,
    smtp_port: int,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """Start the five roles on free ports against the test services; stop and clean up after.
    `extra_env` adds or overrides settings of every role."""
    prefix = unique_name("e2e")
    ports = {role: free_port() for role in ROLES}
    ops_ports = {role: free_port() for role in ROLES}
    env = role_environment(
        base_environment(
            {
                "MONGODB_URL": mongodb_url,
                "MONGODB_DB": prefix.replace("-", "_"),
                "AMQP_URL": AMQP_URL,
                "BROKER_PREFIX": prefix,
                "DATA_DIR": str(data_dir),
                "ADMIN_EMAIL": ADMIN_EMAIL,
                "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp_port),
                "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
                "DELIVERY_LIMIT": "3",
                "LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
                **(extra_env or {}),
            }
        ),
        ports,
    )
    with open(os.devnull, "w") as quiet:  # logs go to data_dir/logs/<role>.log
        roles = RoleProcesses(env, ports, ops_ports, log_dir=data_dir / "logs", sink=quiet)
        try:
            roles.start()
            await asyncio.to_thread(roles.wait_ready, 60)
            gateway = f"http://127.0.0.1:{ports['gateway']}"
            yield Platform(gateway, ports, ops_ports, data_dir, mailbox, roles)
        finally:
            await asyncio.to_thread(roles.stop)
            await delete_topology(Topology(prefix))
