"""A real HTTP server serving a JWKS that tests can change and whose requests they can count."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mp3converter.devstack.secantus import free_port

JWKS_PATH = "/.well-known/jwks.json"
START_TIMEOUT_SECONDS = 10.0


@dataclass
class JwksServer:
    """What the server serves (change it at will) and how often it was asked."""

    url: str
    jwks: Any = field(default_factory=lambda: {"keys": []})
    status: int = 200
    requests: int = 0

    async def endpoint(self, request: Request) -> Response:
        """Serve the current JWKS with the current status."""
        self.requests += 1
        return JSONResponse(self.jwks, status_code=self.status)


@contextlib.asynccontextmanager
async def serve_jwks(jwks: Any) -> AsyncIterator[JwksServer]:
    """Run uvicorn on a free 127.0.0.1 port for the duration of the block."""
    port = free_port()
    state = JwksServer(url=f"http://127.0.0.1:{port}{JWKS_PATH}", jwks=jwks)
    app = Starlette(routes=[Route(JWKS_PATH, state.endpoint)])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
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
                    raise RuntimeError("JWKS server exited before it started")
                await asyncio.sleep(0.01)
        yield state
    finally:
        server.should_exit = True
        await task
