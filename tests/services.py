"""Real services for tests: SecantusDB (or MONGODB_URL), RabbitMQ names per run, an SMTP server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aio_pika
from aiosmtpd.controller import Controller

from mp3converter.adapters import rabbitmq
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.devstack.secantus import free_port, mongodb_url, start_secantus, stop_process

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@contextlib.contextmanager
def mongodb(tmp: Path) -> Iterator[str]:
    """MONGODB_URL when given (a real MongoDB), else SecantusDB on a free port in a temp dir."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    port = free_port()
    process: subprocess.Popen[bytes] = start_secantus(tmp / "db", port, tmp / "secantusdb.log")
    try:
        yield mongodb_url(port)
    finally:
        stop_process(process)


def unique_name(kind: str) -> str:
    """A name no other test run uses."""
    return f"test-{kind}-{uuid.uuid4().hex[:10]}"


async def delete_topology(topology: Topology) -> None:
    """Remove every queue and exchange a test run declared."""
    await rabbitmq.delete_topology(AMQP_URL, topology)


async def queue_depth(name: str) -> int:
    """Messages ready in a queue (its consumers stopped, so none is in flight)."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        assert queue.declaration_result.message_count is not None
        return queue.declaration_result.message_count


@dataclass
class Mailbox:
    """What the test SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd hook: keep the parsed message."""
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> EmailMessage:
        """The first message matching predicate, waiting for it to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                await asyncio.sleep(0.1)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def delete_topology_blocking(topology: Topology) -> None:
    """delete_topology from sync code, on a thread of its own so no test's event loop is touched."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, delete_topology(topology)).result()
