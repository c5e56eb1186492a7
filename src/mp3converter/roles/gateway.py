"""The gateway: the only public entry. Checks tokens locally and streams to auth, upload and
notification (webhooks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from mp3converter import bootstrap
from mp3converter.api.deps import RoleState
from mp3converter.api.gateway import (
    accounts,
    api_keys,
    downloads,
    jobs,
    presets,
    uploads,
    users,
    web_ui,
    webhooks,
)
from mp3converter.config import Settings
from mp3converter.web.key_exchange import KeyExchange
from mp3converter.web.proxy import Upstream
from mp3converter.web.server import finish_app
from mp3converter.web.ui_bundle import packaged_bundle

ROLE = "gateway"
# Long reads and writes: uploads and downloads of large files stream through.
TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=300.0, pool=10.0)
# Pooled connections are dropped well before the roles' keep-alive (web/server.py) ends them.
LIMITS = httpx.Limits(keepalive_expiry=30.0)


@asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[RoleState]:
    """One pooled HTTP client to the internal roles (and the JWKS) for the app's lifetime."""
    async with (
        httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS) as http,
        bootstrap.revocation_list(http, settings) as revoked,
    ):
        upstream = Upstream(http, settings.auth_url, settings.upload_url, settings.notification_url)
        yield RoleState(
            role=ROLE,
            settings=settings,
            # Not the notification role: without it only webhooks are away (503), not the API.
            checks={
                "auth": partial(upstream.ready, settings.auth_url),
                "upload": partial(upstream.ready, settings.upload_url),
            },
            verifier=bootstrap.jwks_verifier(http, settings, revoked),
            upstream=upstream,
            revocation_list=revoked,
            key_exchange=KeyExchange(http, settings.auth_url, settings.api_key_cache_seconds),
            links=bootstrap.download_links(settings),
        )


def create_app(settings: Settings) -> FastAPI:
    """The gateway's app: the public API, documented at /docs, and the web UI at /."""
    app = FastAPI(
        title="mp3converter",
        summary="Upload videos, get MP3s back.",
        version="1",
        lifespan=partial(lifespan, settings),
    )
    for module in (accounts, users, api_keys, uploads, jobs, downloads, webhooks, presets):
        app.include_router(module.router)
    app.include_router(web_ui.router_for(packaged_bundle()))
    return finish_app(app, ROLE)
