"""`mp3converter dead-letters` against the real RabbitMQ and the MongoDB wire server: messages
dead-lettered by the broker's own policy are listed without loss, replayed with their headers
(the job reset when safe, and the converter then converts it), and purged."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from mp3converter.adapters.dead_letters import REPLAYS_HEADER
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, MessageHandler, Topology
from mp3converter.config import Settings
from mp3converter.contracts import ConvertVideo, JobFailed, utcnow
from mp3converter.domain.jobs import FailureCode, Job, JobStatus
from mp3converter.roles.converter import convert_job
from mp3converter.usecases.dead_letters import PURGE_REASON, DeadLetters
from tests.media import make_video
from tests.services import AMQP_URL, queue_depth

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
WAIT_SECONDS = 30.0


@pytest.fixture
def settings(mongodb_url: str, db: Database, topology: Topology) -> Settings:
    return Settings.model_validate(
        {
            "mongodb_url": mongodb_url,
            "mongodb_db": db.name,
            "amqp_url": AMQP_URL,
            "broker_prefix": topology.prefix,
            "delivery_limit": topology.delivery_limit,
        }
    )


@pytest.fixture
def tool(settings: Settings, db: Database, broker: Broker) -> DeadLetters:
    return DeadLetters(
        AMQP_URL, broker.topology, JobStore(db), convert_job(settings, db, broker).fail
    )


@pytest.fixture
async def channel() -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


async def add_job(db: Database, job_id: str, status: JobStatus, video: str | None = "v1") -> Job:
    now = utcnow()
    job = Job(
        job_id=job_id,
        owner_id="u1",
        owner_email="u1@example.com",
        filename="clip.mp4",
        status=status,
        progress=0.4 if status is JobStatus.CONVERTING else 0.0,
        created_at=now,
        updated_at=now,
        video_file_id=video,
        purge_at=now + timedelta(days=30) if status in (JobStatus.DONE, JobStatus.FAILED) else None,
    )
    await JobStore(db).add(job)
    return job


def command(job_id: str, video: str = "0123456789abcdef01234567") -> ConvertVideo:
    return ConvertVideo(job_id=job_id, owner_id="u1", video_file_id=video)


async def publish(
    channel: AbstractChannel, exchange: str, message: ConvertVideo | JobFailed
) -> None:
    """As Broker.publish does, with a trace context in the headers."""
    target = await channel.get_exchange(exchange)
    await target.publish(
        aio_pika.Message(
            message.model_dump_json().encode(),
            headers={"traceparent": TRACEPARENT},
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            correlation_id=message.job_id,
            type=message.type,
        ),
        routing_key=message.routing_key,
    )


async def wait_depth(queue: str, depth: int) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while await queue_depth(queue) != depth:
            await asyncio.sleep(0.05)


async def dead_letter_commands(
    broker: Broker, channel: AbstractChannel, commands: list[ConvertVideo]
) -> None:
    """Commands that keep failing: the queue's delivery limit dead-letters them."""
    t = broker.topology
    before = await queue_depth(t.convert_dead)

    async def always_fail(message: AbstractIncomingMessage) -> None:
        await message.nack(requeue=True)

    consumer = await broker.consume(t.convert, always_fail, prefetch=10)
    try:
        for each in commands:
            await publish(channel, t.commands, each)
        await wait_depth(t.convert_dead, before + len(commands))
    finally:
        await consumer.stop()


async def dead_letter_event(broker: Broker, channel: AbstractChannel, event: JobFailed) -> None:
    """An event the notification role rejected (as it rejects a malformed one)."""
    t = broker.topology

    async def reject(message: AbstractIncomingMessage) -> None:
        await message.reject(requeue=False)

    consumer = await broker.consume(t.notification, reject)
    try:
        await publish(channel, t.events, event)
        await wait_depth(t.notification_dead, 1)
    finally:
        await consumer.stop()


def failed_event(job_id: str) -> JobFailed:
    return JobFailed(
        job_id=job_id,
        owner_id="u1",
        owner_email="u1@example.com",
        filename="clip.mp4",
        code="no-audio",
        reason="no audio",
    )


async def test_list_shows_every_dead_letter_and_leaves_them_in_place(
    tool: DeadLetters, broker: Broker, channel: AbstractChannel, db: Database
) -> None:
    await add_job(db, "job-a", JobStatus.CONVERTING)
    await add_job(db, "job-b", JobStatus.FAILED, video=None)
    await dead_letter_commands(broker, channel, [command("job-a")])
    await dead_letter_event(broker, channel, failed_event("job-b"))

    for _ in range(3):  # listing again and again loses nothing
        reports = await tool.peek(("convert", "notification"))
        assert [(r.queue, r.job_id, r.type, r.action) for r in reports] == [
            ("convert", "job-a", "ConvertVideo", "listed"),
            ("notification", "job-b", "JobFailed", "listed"),
        ]
    convert, event = reports
    assert (convert.reason, convert.deaths, convert.job_status) == (
        "delivery_limit",
        1,
        "converting",
    )
    assert (event.reason, event.job_status) == ("rejected", "failed")
    assert convert.died_at is not None
    assert await queue_depth(broker.topology.convert_dead) == 1
    assert await queue_depth(broker.topology.notification_dead) == 1
    only_b = await tool.peek(("convert", "notification"), "job-b")
    assert [r.job_id for r in only_b] == ["job-b"]


async def test_replay_of_one_job_requeues_it_and_the_converter_converts_it(
    tool: DeadLetters,
    broker: Broker,
    channel: AbstractChannel,
    db: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=1)

    async def chunks() -> AsyncIterator[bytes]:
        yield video.read_bytes()

    stored = await GridFSStore(db, "videos").save(chunks(), filename="clip.mp4", metadata={})
    await add_job(db, "job-stuck", JobStatus.CONVERTING, video=stored.file_id)
    await add_job(db, "job-other", JobStatus.QUEUED)
    await dead_letter_commands(
        broker, channel, [command("job-stuck", stored.file_id), command("job-other")]
    )

    reports = await tool.replay(("convert",), "job-stuck")

    assert [(r.job_id, r.action, r.job_status) for r in reports] == [
        ("job-stuck", "replayed", "queued")
    ]
    job = await JobStore(db).get("job-stuck")
    assert job is not None
    assert (job.status, job.progress) == (JobStatus.QUEUED, 0.0)
    assert await queue_depth(broker.topology.convert_dead) == 1  # job-other stays
    queue = await channel.get_queue(broker.topology.convert)
    async with asyncio.timeout(WAIT_SECONDS):
        while (replayed := await queue.get(no_ack=False, fail=False)) is None:
            await asyncio.sleep(0.05)
    headers = replayed.headers or {}
    assert headers["traceparent"] == TRACEPARENT
    assert headers[REPLAYS_HEADER] == 1
    assert not [key for key in headers if key.startswith(("x-death", "x-first-death"))]
    assert (replayed.message_id, replayed.correlation_id) == ("job-stuck:convert", "job-stuck")
    await replayed.nack(requeue=True)  # the converter takes it from here

    use_case = convert_job(settings, db, broker)
    consumer = await broker.consume(
        broker.topology.convert, MessageHandler(ConvertVideo.model_validate_json, use_case.run)
    )
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while (job := await JobStore(db).get("job-stuck")) and job.status is not JobStatus.DONE:
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()


async def test_replay_skips_a_done_job_and_never_resurrects_a_deleted_one(
    tool: DeadLetters, broker: Broker, channel: AbstractChannel, db: Database
) -> None:
    await add_job(db, "job-done", JobStatus.DONE)
    await add_job(db, "job-gone", JobStatus.QUEUED)
    await add_job(db, "job-lost-video", JobStatus.FAILED, video=None)
    await dead_letter_commands(
        broker, channel, [command("job-done"), command("job-gone"), command("job-lost-video")]
    )
    await JobStore(db).delete("job-gone")  # the owner deleted it

    reports = await tool.replay(("convert",))

    assert {r.job_id: (r.action, r.note) for r in reports} == {
        "job-done": ("skipped", "the job is already done"),
        "job-gone": (
            "skipped",
            "the job no longer exists (deleted by its owner or past retention)",
        ),
        "job-lost-video": ("skipped", "the job failed and its video is no longer stored"),
    }
    assert await JobStore(db).get("job-gone") is None
    done = await JobStore(db).get("job-done")
    assert done is not None
    assert done.status is JobStatus.DONE
    assert await queue_depth(broker.topology.convert_dead) == 3  # skipped ones stay
    assert await queue_depth(broker.topology.convert) == 0


async def test_replay_of_an_event_sends_it_back_to_the_notification_queue(
    tool: DeadLetters, broker: Broker, channel: AbstractChannel, db: Database
) -> None:
    await add_job(db, "job-b", JobStatus.FAILED, video=None)
    await dead_letter_event(broker, channel, failed_event("job-b"))

    reports = await tool.replay(("notification",))

    assert [(r.job_id, r.action) for r in reports] == [("job-b", "replayed")]
    await wait_depth(broker.topology.notification, 1)
    assert await queue_depth(broker.topology.notification_dead) == 0


async def test_purge_of_one_job_then_all_fails_the_unfinished_jobs(
    tool: DeadLetters, broker: Broker, channel: AbstractChannel, db: Database
) -> None:
    await add_job(db, "job-q", JobStatus.QUEUED)
    await add_job(db, "job-b", JobStatus.FAILED, video=None)
    await add_job(db, "job-c", JobStatus.CONVERTING)
    await dead_letter_commands(broker, channel, [command("job-q"), command("job-c")])
    await dead_letter_event(broker, channel, failed_event("job-b"))

    first = await tool.purge(("convert", "notification"), "job-q")
    assert [(r.job_id, r.action, r.job_status) for r in first] == [("job-q", "purged", "failed")]
    assert await queue_depth(broker.topology.convert_dead) == 1
    rest = await tool.purge(("convert", "notification"))
    assert [(r.job_id, r.action) for r in rest] == [("job-c", "purged"), ("job-b", "purged")]

    assert await queue_depth(broker.topology.convert_dead) == 0
    assert await queue_depth(broker.topology.notification_dead) == 0
    for job_id in ("job-q", "job-c"):
        job = await JobStore(db).get(job_id)
        assert job is not None
        assert job.status is JobStatus.FAILED
        assert job.error is not None
        assert (job.error.code, job.error.reason) == (FailureCode.RETRIES_EXHAUSTED, PURGE_REASON)


async def test_the_command_prints_json_as_the_converter_role(
    settings: Settings, broker: Broker, channel: AbstractChannel, db: Database
) -> None:
    await add_job(db, "job-a", JobStatus.QUEUED)
    await dead_letter_commands(broker, channel, [command("job-a")])
    env = {
        **os.environ,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "AMQP_URL": AMQP_URL,
        "BROKER_PREFIX": settings.broker_prefix,
        "DELIVERY_LIMIT": str(settings.delivery_limit),
    }
    argv = [sys.executable, "-m", "mp3converter", "dead-letters", "list", "--json"]
    done = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    [listed] = json.loads(done.stdout)
    assert (listed["queue"], listed["job_id"], listed["action"]) == ("convert", "job-a", "listed")
    assert await queue_depth(broker.topology.convert_dead) == 1

    production = {**env, "ENVIRONMENT": "production"}  # guest:guest is refused, as for the role
    refused = await asyncio.to_thread(
        subprocess.run, argv, env=production, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "guest:guest" in refused.stderr
