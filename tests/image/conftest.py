"""The image built here, its five roles running from it against the suite's services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mp3converter.adapters.rabbitmq import Topology
from mp3converter.devstack.processes import role_environment
from mp3converter.devstack.secantus import free_port
from mp3converter.roles import ROLES
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, MAX_UPLOAD_BYTES
from tests.image.containers import RoleContainers, running_containers
from tests.image.engine import build_image
from tests.services import AMQP_URL, Mailbox, delete_topology, smtp_server, unique_name


@pytest.fixture(scope="session")
def image() -> str:
    """mp3converter:<version>, built by `make image`'s script (a no-op when it is up to date)."""
    return build_image()


@pytest.fixture(scope="module")
def image_mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server for the notification container."""
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
async def containers(
    image: str,
    mongodb_url: str,
    image_mailbox: tuple[Mailbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RoleContainers]:
    """Auth, gateway, upload, converter and notification, each in a container of the image."""
    _, smtp_port = image_mailbox
    prefix = unique_name("image")
    ports = {role: free_port() for role in ROLES}
    ops_ports = {role: free_port() for role in ROLES}
    settings = {
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB": prefix.replace("-", "_"),
        "AMQP_URL": AMQP_URL,
        "BROKER_PREFIX": prefix,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "DELIVERY_LIMIT": "3",
        "LOG_LEVEL": "INFO",
    }
    env = role_environment(settings, ports)
    log_dir: Path = tmp_path_factory.mktemp("image-logs")
    try:
        with running_containers(image, env, log_dir, ports, ops_ports) as running:
            yield running
    finally:
        await delete_topology(Topology(prefix))
