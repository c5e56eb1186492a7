"""Broker against the real RabbitMQ: topology, message properties, routing, dead-lettering."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from mp3converter.adapters.rabbitmq import Broker, Topology, delivery_count
from mp3converter.contracts import ConvertVideo, JobFailed, JobQueued, JobSucceeded
from tests.services import AMQP_URL

WAIT_SECONDS = 10.0
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def convert(job_id: str = "job-1") -> ConvertVideo:
    return ConvertVideo(
        job_id=job_id, owner_id="u1", video_file_id="0123456789abcdef01234567", occurred_at=WHEN
    )


def succeeded(job_id: str = "job-1") -> JobSucceeded:
    return JobSucceeded(
        job_id=job_id,
        owner_id="u1",
        filename="a.mp4",
        owner_email="a@example.com",
        duration_seconds=1.0,
        size_bytes=10,
        occurred_at=WHEN,
    )


@pytest.fixture
async def channel() -> AsyncIterator[AbstractChannel]:
    """A channel on a connection of its own, as another process would have."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


async def get_one(queue: AbstractQueue) -> AbstractIncomingMessage:
    """The next message of a queue, waiting a bounded time for it to arrive."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                return message
            await asyncio.sleep(0.05)


def queue_args(topology: Topology, name: str) -> dict[str, Any]:
    """The arguments the topology gives a work queue."""
    dead_letter = {"x-dead-letter-exchange": topology.dead, "x-dead-letter-routing-key": name}
    return {"x-queue-type": "quorum", "x-delivery-limit": topology.delivery_limit, **dead_letter}


@pytest.mark.usefixtures("broker")
async def test_every_queue_exists_and_is_durable(
    channel: AbstractChannel, topology: Topology
) -> None:
    for name in topology.all_queues():
        queue = await channel.declare_queue(name, passive=True)
        assert queue.declaration_result.message_count == 0


@pytest.mark.usefixtures("broker")
@pytest.mark.parametrize("which", ["convert", "notification"])
async def test_work_queues_are_quorum_with_limit_and_dead_letters(
    topology: Topology, which: str
) -> None:
    name = getattr(topology, which)
    expected = queue_args(topology, name)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        # Declaring with the very same arguments succeeds only if they are the queue's own...
        same = await connection.channel()
        await same.declare_queue(name, durable=True, arguments=expected)
        # ...and the broker refuses any other queue type.
        other = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-queue-type"):
            await other.declare_queue(
                name, durable=True, arguments={**expected, "x-queue-type": "classic"}
            )


@pytest.mark.usefixtures("broker")
@pytest.mark.parametrize("which", ["convert_dead", "notification_dead"])
async def test_dead_letter_queues_are_quorum(topology: Topology, which: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-queue-type"):
            await channel.declare_queue(
                getattr(topology, which), durable=True, arguments={"x-queue-type": "classic"}
            )


async def test_declaring_the_topology_again_is_harmless(broker: Broker, topology: Topology) -> None:
    again = await Broker.connect(AMQP_URL, topology)
    await again.close()
    await broker.publish(convert())


async def test_convert_command_arrives_with_its_properties(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    command = convert("job-77")
    await broker.publish(command)

    message = await get_one(await channel.get_queue(topology.convert))
    await message.ack()

    assert ConvertVideo.model_validate_json(message.body) == command
    assert message.message_id == command.message_id == "job-77:convert"
    assert message.correlation_id == "job-77"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.type == "ConvertVideo"
    assert message.routing_key == "convert"
    assert message.exchange == topology.commands


async def test_outcome_events_reach_the_notification_queue(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    failed = JobFailed(
        job_id="job-2",
        owner_id="u1",
        filename="a.mp4",
        owner_email="a@example.com",
        code="no-audio",
        reason="none",
    )
    await broker.publish(succeeded("job-1"))
    await broker.publish(failed)

    queue = await channel.get_queue(topology.notification)
    first, second = await get_one(queue), await get_one(queue)
    assert JobSucceeded.model_validate_json(first.body) == succeeded("job-1")
    assert JobFailed.model_validate_json(second.body) == failed
    assert (first.routing_key, second.routing_key) == ("job.succeeded", "job.failed")
    assert second.message_id == "job-2:job.failed"


async def test_queued_events_do_not_reach_the_notification_queue(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    # A live-update queue, as a gateway instance binds, so job.queued has somewhere to go.
    live = await channel.declare_queue(exclusive=True, auto_delete=True)
    await live.bind(topology.events, routing_key="job.#")
    queued = JobQueued(job_id="job-3", owner_id="u1", filename="a.mp4")

    await broker.publish(queued)
    await broker.publish(succeeded("job-3"))

    assert JobQueued.model_validate_json((await get_one(live)).body) == queued
    assert (await get_one(live)).routing_key == "job.succeeded"
    notification = await channel.get_queue(topology.notification)
    only = await get_one(notification)
    assert only.routing_key == "job.succeeded"
    assert await notification.get(fail=False) is None


async def test_an_event_nobody_listens_to_is_not_an_error(broker: Broker) -> None:
    # No queue is bound to job.queued: events are broadcasts, so this is confirmed, not refused.
    await broker.publish(JobQueued(job_id="job-4", owner_id="u1", filename="a.mp4"))


async def test_an_unroutable_command_raises(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    queue = await channel.get_queue(topology.convert)
    await queue.unbind(topology.commands, "convert")
    # Mandatory publishing reports a command nobody would receive instead of dropping it.
    with pytest.raises(aio_pika.exceptions.DeliveryError):
        await broker.publish(convert("job-lost"))


async def test_a_message_requeued_too_often_is_dead_lettered(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    counts: list[int] = []

    async def always_fail(message: AbstractIncomingMessage) -> None:
        counts.append(delivery_count(message))
        await message.nack(requeue=True)

    consumer = await broker.consume(topology.convert, always_fail)
    try:
        await broker.publish(convert("job-dead"))
        dead = await get_one(await channel.get_queue(topology.convert_dead))
    finally:
        await consumer.cancel()
        await consumer.close()

    await dead.ack()
    assert ConvertVideo.model_validate_json(dead.body) == convert("job-dead")
    assert dead.message_id == "job-dead:convert"
    assert dead.correlation_id == "job-dead"
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
    assert dead.headers["x-first-death-queue"] == topology.convert
    assert counts == list(range(topology.delivery_limit + 1))
    empty = await channel.declare_queue(topology.convert, passive=True)
    assert empty.declaration_result.message_count == 0


async def test_publishing_after_the_exchange_vanished_raises(
    broker: Broker, topology: Topology, channel: AbstractChannel
) -> None:
    await channel.exchange_delete(topology.commands)
    with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity, match="no exchange"):
        await broker.publish(convert("job-lost"))
