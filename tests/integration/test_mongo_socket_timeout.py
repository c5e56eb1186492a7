"""An operation whose answer stops coming fails after the socket timeout instead of hanging."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from mp3converter.adapters import mongo


class FreezingProxy:
    """A TCP relay to the database that, once frozen, stops passing the server's answers on
    while keeping every connection open: a server or link that hangs."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if answers and self.frozen.is_set():
                    await asyncio.sleep(3600)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)
        for task in (
            asyncio.create_task(self._relay(client_r, server_w, answers=False)),
            asyncio.create_task(self._relay(server_r, client_w, answers=True)),
        ):
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_a_database_that_stops_answering_fails_the_operation(mongodb_url: str) -> None:
    target = urlsplit(mongodb_url)
    assert target.hostname is not None
    assert target.port is not None
    proxy = FreezingProxy(target.hostname, target.port)
    async with proxy.running() as port:
        client = mongo.connect(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", socket_timeout_seconds=1.0
        )
        try:
            db = client["socket_timeout"]
            await mongo.ping(db)  # answers pass while the proxy is not frozen
            proxy.frozen.set()
            started = time.monotonic()
            with pytest.raises((AutoReconnect, ServerSelectionTimeoutError)):
                async with asyncio.timeout(15):  # the test's own bound: a hang fails it
                    await db["jobs"].find_one({})
            assert time.monotonic() - started < 8
        finally:
            await client.close()
