"""A real webhook receiver on loopback HTTP: records each delivery, answers as a test tells it,
and verifies signatures with the `standardwebhooks` library, as a user's receiver would."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.http_server import serve

WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """What the receiver got; `statuses` are its answers in turn (the last one repeats)."""

    base: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        """The URL of one of the receiver's paths."""
        return f"{self.base}{path}"

    def verified(self, secret: str) -> list[Any]:
        """Every delivery's payload, each verified (raises if one is not signed with secret)."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.received]

    async def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[Received]:
        """Wait until `count` requests arrived."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                await asyncio.sleep(0.02)
        return self.received

    async def hook(self, request: Request) -> Response:
        """Record the delivery; answer the next status."""
        self._record(request, await request.body())
        status = self.statuses[min(len(self.received), len(self.statuses)) - 1]
        return Response(f"answer {status}", status_code=status)

    async def redirect(self, request: Request) -> Response:
        """Answer with a redirect to /hook (which must never be followed)."""
        self._record(request, await request.body())
        return RedirectResponse("/hook", status_code=307)

    async def endless(self, request: Request) -> Response:
        """200 with a body that never ends (only a bounded part of it may be read)."""
        self._record(request, await request.body())

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 4096
                await asyncio.sleep(0)

        return StreamingResponse(chunks())

    async def slow(self, request: Request) -> Response:
        """Answer after a minute: past any timeout."""
        self._record(request, await request.body())
        await asyncio.sleep(60)
        return Response("late")

    def _record(self, request: Request, body: bytes) -> None:
        headers = dict(request.headers.items())
        self.received.append(Received(request.url.path, headers, body))


@contextlib.asynccontextmanager
async def webhook_receiver(statuses: list[int] | None = None) -> AsyncIterator[Receiver]:
    """A receiver served over real HTTP on 127.0.0.1 for the duration of the block."""
    receiver = Receiver(statuses=statuses or [200])
    routes = [
        Route("/hook", receiver.hook, methods=["POST"]),
        Route("/redirect", receiver.redirect, methods=["POST"]),
        Route("/endless", receiver.endless, methods=["POST"]),
        Route("/slow", receiver.slow, methods=["POST"]),
    ]
    async with serve(Starlette(routes=routes), lifespan="off") as base:
        receiver.base = base
        yield receiver
