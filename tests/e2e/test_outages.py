"""Outages of MongoDB and RabbitMQ: clear 503s while they last, no crash, full recovery after."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mp3converter.devstack.secantus import free_port, mongodb_url, start_secantus, stop_process
from tests.e2e.platform import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Platform,
    bearer,
    running_platform,
    upload_file,
)
from tests.mail_parts import text_of
from tests.media import make_video
from tests.services import smtp_server

pytestmark = pytest.mark.e2e
RECOVERY_SECONDS = 60.0


@dataclass
class Database:
    """A SecantusDB of this module alone, so it can be stopped and started again."""

    port: int
    storage: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Take the database away."""
        stop_process(self.process)

    def start(self) -> None:
        """Bring it back on the same port with the same data."""
        self.process = start_secantus(self.storage, self.port, self.storage / "log")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    """A private database for the platform of this module."""
    storage = tmp_path_factory.mktemp("outage-db")
    port = free_port()
    db = Database(port, storage, start_secantus(storage, port, storage / "log"))
    yield db  # type: ignore[misc]
    db.stop()


@pytest.fixture(scope="module")
async def own_platform(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The five roles on the private database."""
    with smtp_server() as (mailbox, port):
        data_dir = tmp_path_factory.mktemp("outage-platform")
        async with running_platform(mongodb_url(database.port), data_dir, mailbox, port) as running:
            yield running


async def _convert(platform: Platform, token: str, video: bytes) -> str:
    async with platform.client() as client:
        response = await client.post(
            "/upload", headers=bearer(token), files=upload_file("v.mp4", video)
        )
    assert response.status_code == 202, response.text
    job = await platform.wait_final(token, response.json()["job_id"])
    assert job["status"] == "done", job
    return str(job["job_id"])


async def test_database_outage_gives_503_then_recovers(
    own_platform: Platform, database: Database, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=2).read_bytes()
    token = await own_platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    before = await _convert(own_platform, token, video)

    database.stop()
    try:
        async with own_platform.client() as client:
            jobs = await client.get("/jobs", headers=bearer(token))
            upload_ready = await client.get(
                f"http://127.0.0.1:{own_platform.ops_ports['upload']}/readyz"
            )
        assert jobs.status_code == 503, jobs.text
        assert jobs.headers["content-type"] == "application/problem+json"
        assert jobs.headers["retry-after"]
        assert upload_ready.status_code == 503
        assert "mongodb" in upload_ready.json()["checks"]
    finally:
        database.start()

    async with own_platform.client() as client, asyncio.timeout(RECOVERY_SECONDS):
        while (await client.get("/jobs", headers=bearer(token))).status_code != 200:
            await asyncio.sleep(0.5)
        listed = (await client.get("/jobs", headers=bearer(token))).json()["jobs"]
    assert before in [job["job_id"] for job in listed]
    await _convert(own_platform, token, video)
    assert own_platform.roles.exited() == {}


def _close_connections(prefix: str) -> int:
    """Make the broker drop every connection of this platform, as a broker restart would."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    closed = 0
    for line in listed.splitlines():
        pid, _, properties = line.partition("\t")
        name = re.search(r'\{"connection_name","([^"]*)"\}', properties)
        if name and name.group(1).startswith(f"{prefix}/"):
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", pid, "outage test"],
                capture_output=True,
                check=True,
            )
            closed += 1
    return closed


@pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None or "AMQP_URL" in os.environ,
    reason="needs rabbitmqctl for the local broker (make test installs it unless AMQP_URL is set)",
)
async def test_dropped_broker_connections_are_reestablished(
    own_platform: Platform, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=2).read_bytes()
    token = await own_platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    closed = await asyncio.to_thread(_close_connections, own_platform.roles.env["BROKER_PREFIX"])
    assert closed == 3  # upload, converter, notification

    async with own_platform.client() as client, asyncio.timeout(RECOVERY_SECONDS):
        while True:  # the robust connections come back by themselves
            ready = [
                (
                    await client.get(f"http://127.0.0.1:{own_platform.ops_ports[role]}/readyz")
                ).status_code
                for role in ("upload", "converter", "notification")
            ]
            if ready == [200, 200, 200]:
                break
            await asyncio.sleep(0.5)
    job_id = await _convert(own_platform, token, video)  # consumers resumed too
    mail = await own_platform.mailbox.wait_for(lambda m: job_id in text_of(m))
    assert "ready" in mail["Subject"]
    assert own_platform.roles.exited() == {}
