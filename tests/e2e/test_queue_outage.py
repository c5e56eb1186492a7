"""When the convert command cannot be queued, the upload is undone: no orphan job or video."""

from __future__ import annotations

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from mp3converter.adapters.rabbitmq import Topology
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer, upload_file
from tests.services import AMQP_URL

pytestmark = pytest.mark.e2e


async def test_unroutable_command_undoes_the_upload(platform: Platform, mongodb_url: str) -> None:
    topology = Topology(platform.roles.env["BROKER_PREFIX"])
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url)
    db = mongo[platform.roles.env["MONGODB_DB"]]
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.convert, ensure=False)
        jobs_before = await db.jobs.count_documents({})
        videos_before = await db["videos.files"].count_documents({})
        await queue.unbind(topology.commands, "convert")  # the command now has nowhere to go
        try:
            async with platform.client() as client:
                response = await client.post(
                    "/upload", headers=bearer(token), files=upload_file("lost.mp4", b"x" * 4096)
                )
        finally:
            await queue.bind(topology.commands, "convert")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"]
        assert await db.jobs.count_documents({}) == jobs_before
        assert await db["videos.files"].count_documents({}) == videos_before
    finally:
        await connection.close()
        await mongo.close()
