"""An ASGI app served by uvicorn on a free loopback port, for the duration of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from mp3converter.devstack.secantus import free_port

START_TIMEOUT_SECONDS = 30.0


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp, lifespan: Literal["on", "off"] = "on", port: int | None = None
) -> AsyncIterator[str]:
    """Serve the app over real HTTP on 127.0.0.1 (a free port unless given); yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan=lifespan,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            while not server.started:
                if task.done():
                    task.result()  # raises why it could not start
                    raise RuntimeError("the server exited before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
