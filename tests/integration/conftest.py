"""Fixtures of the integration tests: the gateway in-process with auth and upload behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.config import Settings
from mp3converter.devstack.secantus import free_port
from mp3converter.roles import auth, gateway, upload
from tests.http_server import serve
from tests.inprocess import serving_with_ops, settings_for
from tests.services import delete_topology

ADMIN = ("admin@example.com", "an-admin-password-1")
MAX_UPLOAD_BYTES = 1024 * 1024


@dataclass
class Stack:
    """The gateway in-process, auth and upload behind it on loopback HTTP."""

    client: httpx.AsyncClient
    ops: httpx.AsyncClient
    settings: Settings
    db: Database

    async def bearer(self, email: str = ADMIN[0], password: str = ADMIN[1]) -> dict[str, str]:
        response = await self.client.post("/login", auth=(email, password))
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def stack(mongodb_url: str, mongo_client: Any, tmp_path: Path) -> AsyncIterator[Stack]:
    auth_port, upload_port = free_port(), free_port()
    settings = settings_for(
        mongodb_url,
        f"http://127.0.0.1:{auth_port}",
        upload_url=f"http://127.0.0.1:{upload_port}",
        data_dir=tmp_path,
        admin_email=ADMIN[0],
        admin_password=ADMIN[1],
        max_upload_bytes=MAX_UPLOAD_BYTES,
        revocation_refresh_seconds=0.5,
        api_key_cache_seconds=1,
    )
    try:
        async with AsyncExitStack() as started:
            for role, port in ((auth, auth_port), (upload, upload_port)):
                role_settings = settings.model_copy(update={"http_port": port})
                await started.enter_async_context(serve(role.create_app(role_settings), port=port))
            client, ops = await started.enter_async_context(
                serving_with_ops(gateway.create_app(settings), settings)
            )
            yield Stack(client, ops, settings, mongo_client[settings.mongodb_db])
    finally:
        await mongo_client.drop_database(settings.mongodb_db)
        await delete_topology(Topology(settings.broker_prefix))
