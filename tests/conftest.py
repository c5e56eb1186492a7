"""Fixtures that boot the real services: MongoDB wire server, RabbitMQ, SMTP."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from mp3converter.adapters import mongo
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, Topology
from tests.services import AMQP_URL, Mailbox, delete_topology, mongodb, smtp_server, unique_name


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One MongoDB-wire server for the whole run."""
    with mongodb(tmp_path_factory.mktemp("mongodb")) as url:
        yield url


@pytest.fixture(scope="session")
async def mongo_client(mongodb_url: str) -> AsyncIterator[AsyncMongoClient[Any]]:
    """An async client to the test server."""
    client = mongo.connect(mongodb_url)
    yield client
    await client.close()


@pytest.fixture
async def db(mongo_client: AsyncMongoClient[Any]) -> AsyncIterator[Database]:
    """A fresh database per test, with the platform's indexes; dropped afterwards."""
    name = unique_name("db").replace("-", "_")
    database: Database = mongo_client[name]
    await mongo.ensure_indexes(database)
    yield database
    await mongo_client.drop_database(name)


@pytest.fixture
def topology() -> Topology:
    """Exchange and queue names no other run uses, with a small delivery limit."""
    return Topology(unique_name("mq"), delivery_limit=2)


@pytest.fixture
async def broker(topology: Topology) -> AsyncIterator[Broker]:
    """A connected broker with the topology declared; everything deleted afterwards."""
    connected = await Broker.connect(AMQP_URL, topology)
    yield connected
    await connected.close()
    await delete_topology(topology)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback and what it received."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session", autouse=True)
async def task_dump_on_sigusr1(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[None]:
    """`kill -USR1 <pytest>` writes where every task of the session's loop waits to
    task-stacks.txt in the run's base temporary directory: a hung test shows its await, which a
    thread dump (py-spy, faulthandler) cannot."""
    loop = asyncio.get_running_loop()
    target = tmp_path_factory.getbasetemp() / "task-stacks.txt"

    def dump() -> None:
        with target.open("a") as out:
            for task in asyncio.all_tasks(loop):
                task.print_stack(file=out)

    loop.add_signal_handler(signal.SIGUSR1, dump)
    yield
    loop.remove_signal_handler(signal.SIGUSR1)
