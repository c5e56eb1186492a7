"""A role's app served in-process (httpx.ASGITransport) on the suite's real services."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from mp3converter.adapters.jwt_keys import TokenIssuer
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.config import Settings
from mp3converter.web.server import ops_app
from tests.helpers_jwks import JWKS_PATH, serve_jwks
from tests.media import CONVERTER_FFMPEG
from tests.services import AMQP_URL, delete_topology, unique_name


@dataclass(frozen=True)
class Tokens:
    """Mints bearer tokens that the served app accepts (its JWKS is served over real HTTP)."""

    issuer: TokenIssuer
    auth_url: str

    def bearer(self, user_id: str | None = None, *, admin: bool = False) -> dict[str, str]:
        """Authorization header for a user (a new one unless named)."""
        user_id = user_id or uuid.uuid4().hex
        token = self.issuer.issue(subject=user_id, email=f"{user_id}@example.com", admin=admin)
        return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def token_authority() -> AsyncIterator[Tokens]:
    """A signing key and its JWKS on a loopback HTTP server."""
    issuer = TokenIssuer(
        key=Ed25519PrivateKey.generate(),
        issuer="mp3converter-auth",
        audience="mp3converter",
        ttl_seconds=600,
    )
    async with serve_jwks(issuer.jwks()) as server:
        yield Tokens(issuer, server.url.removesuffix(JWKS_PATH))


def settings_for(mongodb_url: str, auth_url: str, **overrides: Any) -> Settings:
    """Settings of one isolated test deployment: its own database and broker names."""
    prefix = unique_name("inproc")
    fields: dict[str, Any] = {
        "mongodb_url": mongodb_url,
        "mongodb_db": prefix.replace("-", "_"),
        "amqp_url": AMQP_URL,
        "broker_prefix": prefix,
        "auth_url": auth_url,
        "ffmpeg_bin": CONVERTER_FFMPEG.ffmpeg,
        "ffprobe_bin": CONVERTER_FFMPEG.ffprobe,
        **overrides,
    }
    return Settings.model_validate(fields)


def with_state(app: ASGIApp, state: Mapping[str, Any]) -> ASGIApp:
    """The app as a server runs it after its lifespan: each request gets a copy of the state."""

    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return call


def client_of(app: ASGIApp) -> httpx.AsyncClient:
    """An HTTP client that calls the app in-process."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)


@contextlib.asynccontextmanager
async def serving_with_ops(
    app: FastAPI, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Run the app's lifespan; clients of its public and its ops listener, in-process.

    The broker topology of the deployment is deleted afterwards.
    """
    try:
        async with (
            app.router.lifespan_context(app) as state,
            client_of(with_state(app, state or {})) as client,
            client_of(with_state(ops_app(), state or {})) as ops,
        ):
            yield client, ops
    finally:
        await delete_topology(Topology(settings.broker_prefix))


@contextlib.asynccontextmanager
async def serving(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and talk to its public listener in-process."""
    async with serving_with_ops(app, settings) as (client, _):
        yield client
