"""A real HTTP server serving a JWKS that tests can change and whose requests they can count."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.http_server import serve

JWKS_PATH = "/.well-known/jwks.json"


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
    """Serve the JWKS over real HTTP on a free 127.0.0.1 port for the duration of the block."""
    state = JwksServer(url="", jwks=jwks)
    app = Starlette(routes=[Route(JWKS_PATH, state.endpoint)])
    async with serve(app, lifespan="off") as base:
        state.url = f"{base}{JWKS_PATH}"
        yield state
