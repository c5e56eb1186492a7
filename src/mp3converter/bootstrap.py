"""Building adapters from Settings: the one place roles and CLI commands open what they use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx

from mp3converter.adapters import mongo
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, Topology
from mp3converter.adapters.revocations import RevocationList, Revocations
from mp3converter.adapters.token_verifier import JwksKeys, TokenVerifier
from mp3converter.config import Settings
from mp3converter.domain.download_links import DownloadLinks, LinkSigner
from mp3converter.web.readiness import Checks


@asynccontextmanager
async def database(settings: Settings, role: str) -> AsyncIterator[Database]:
    """The deployment's database with the role's indexes ensured; the client closes on exit."""
    client = mongo.connect(settings.mongodb_url)
    try:
        db = client[settings.mongodb_db]
        await mongo.ensure_indexes(db, role)
        yield db
    finally:
        await client.close()


def topology(settings: Settings) -> Topology:
    """The deployment's exchanges and queues."""
    return Topology(settings.broker_prefix, settings.delivery_limit)


@asynccontextmanager
async def broker(settings: Settings, role: str) -> AsyncIterator[Broker]:
    """A broker connection named after the role, with the topology declared."""
    connected = await Broker.connect(settings.amqp_url.get_secret_value(), topology(settings), role)
    try:
        yield connected
    finally:
        await connected.close()


@asynccontextmanager
async def database_and_broker(
    settings: Settings, role: str
) -> AsyncIterator[tuple[Database, Broker]]:
    """Both, for a role that stores and messages; closed in reverse order."""
    async with database(settings, role) as db, broker(settings, role) as connected:
        yield db, connected


def jwks_verifier(
    http: httpx.AsyncClient, settings: Settings, revocations: Revocations | None = None
) -> TokenVerifier:
    """Verifies tokens against the auth role's JWKS, fetched with this client."""
    keys = JwksKeys(http, f"{settings.auth_url}/.well-known/jwks.json", settings.jwks_cache_seconds)
    return TokenVerifier(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, revocations=revocations
    )


@asynccontextmanager
async def revocation_list(
    http: httpx.AsyncClient, settings: Settings
) -> AsyncIterator[RevocationList]:
    """Auth's list of revoked users, fetched now and kept fresh while the block runs."""
    revoked = RevocationList(http, settings.auth_url, settings.revocation_refresh_seconds)
    refreshing = asyncio.create_task(revoked.keep_fresh())
    try:
        yield revoked
    finally:
        refreshing.cancel()
        with suppress(asyncio.CancelledError):
            await refreshing


def download_links(settings: Settings) -> DownloadLinks:
    """Signed links to the public download route."""
    signer = LinkSigner(settings.link_signing_keys.get_secret_value())
    return DownloadLinks(signer, settings.public_base_url, settings.download_link_ttl_seconds)


def store_and_broker_checks(db: Database, connected: Broker) -> Checks:
    """Readiness of a role that needs MongoDB and RabbitMQ."""
    return {"mongodb": lambda: mongo.ping(db), "rabbitmq": connected.check}


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run `work` as a task for the duration of the block; cancelled and awaited at its end."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
