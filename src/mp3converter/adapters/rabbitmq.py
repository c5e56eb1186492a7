"""RabbitMQ topology, confirmed publishing and manual-ack consuming (aio-pika)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Generic, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from mp3converter.contracts import EVERY_JOB_EVENT, ConvertVideo, JobFailed, JobSucceeded, Message
from mp3converter.log_context import bind, log_scope
from mp3converter.tracing import extract, inject, tracer

log = logging.getLogger(__name__)

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
PUBLISH_TIMEOUT_SECONDS = 10.0
# Each step of stopping a consumer (cancel, close) waits at most this long for the broker.
SHUTDOWN_STEP_SECONDS = 5.0
# How long a connection to the broker may take to open.
CONNECT_TIMEOUT_SECONDS = 10.0
# Before a message that failed on a transient error goes back to its queue.
RETRY_PAUSE_SECONDS = 2.0
T = TypeVar("T")


@dataclass(frozen=True)
class Topology:
    """Names of every exchange and queue, under one prefix so deployments and tests are isolated."""

    prefix: str
    delivery_limit: int = 5

    @property
    def commands(self) -> str:
        """Direct exchange for commands."""
        return f"{self.prefix}.commands"

    @property
    def events(self) -> str:
        """Topic exchange for job events."""
        return f"{self.prefix}.events"

    @property
    def dead(self) -> str:
        """Direct exchange that receives dead-lettered messages."""
        return f"{self.prefix}.dead"

    @property
    def convert(self) -> str:
        """Quorum queue of ConvertVideo commands."""
        return f"{self.prefix}.convert"

    @property
    def convert_dead(self) -> str:
        """Commands that exhausted their deliveries."""
        return f"{self.prefix}.convert.dead"

    @property
    def notification(self) -> str:
        """Quorum queue of job events for the notification role."""
        return f"{self.prefix}.notification"

    @property
    def notification_dead(self) -> str:
        """Events the notification role could not handle within the delivery limit."""
        return f"{self.prefix}.notification.dead"

    def all_queues(self) -> list[str]:
        """Every queue, for clean-up in tests."""
        names = [self.convert, self.convert_dead, self.notification, self.notification_dead]
        return names

    def all_exchanges(self) -> list[str]:
        """Every exchange, for clean-up in tests."""
        return [self.commands, self.events, self.dead]


class Broker:
    """One robust connection, a confirming publisher channel, and consumer channels."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology) -> None:
        self.topology = topology
        self._connection = connection
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}

    @classmethod
    async def connect(cls, url: str, topology: Topology, client: str = "mp3converter") -> Broker:
        """Connect (named `<prefix>/<client>` in the broker's tools), declare the topology."""
        connection = await aio_pika.connect_robust(
            url,
            timeout=CONNECT_TIMEOUT_SECONDS,
            client_properties={"connection_name": f"{topology.prefix}/{client}"},
        )
        broker = cls(connection, topology)
        try:
            await broker._declare()
        except BaseException:
            await connection.close()
            raise
        return broker

    async def _declare(self) -> None:
        t = self.topology
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel
        durable = aio_pika.ExchangeType
        commands = await channel.declare_exchange(t.commands, durable.DIRECT, durable=True)
        events = await channel.declare_exchange(t.events, durable.TOPIC, durable=True)
        dead = await channel.declare_exchange(t.dead, durable.DIRECT, durable=True)
        self._exchanges = {t.commands: commands, t.events: events}
        for queue_name, source, keys in (
            (t.convert, commands, [ConvertVideo.ROUTING_KEY]),
            (t.notification, events, [JobSucceeded.ROUTING_KEY, JobFailed.ROUTING_KEY]),
        ):
            queue = await channel.declare_queue(
                queue_name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": t.delivery_limit,
                    "x-dead-letter-exchange": t.dead,
                    "x-dead-letter-routing-key": queue_name,
                },
            )
            for key in keys:
                await queue.bind(source, routing_key=key)
            dead_queue = await channel.declare_queue(
                f"{queue_name}.dead", durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dead_queue.bind(dead, routing_key=queue_name)

    async def publish(self, message: Message) -> None:
        """Publish and wait for the broker's confirm; raises if unconfirmed, or a command unrouted.

        The message's headers carry the trace (W3C `traceparent`) of a producer span, so its
        consumer continues the trace this one is part of."""
        is_command = isinstance(message, ConvertVideo)
        exchange_name = self.topology.commands if is_command else self.topology.events
        body = message.model_dump_json().encode()
        with tracer().start_as_current_span(
            f"publish {exchange_name}",
            kind=SpanKind.PRODUCER,
            attributes=_span_attributes("send", exchange_name, message.routing_key, message),
        ):
            headers: dict[str, str] = {}
            inject(headers)
            await self._exchanges[exchange_name].publish(
                aio_pika.Message(
                    body,
                    headers=dict(headers),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    correlation_id=message.job_id,
                    type=getattr(message, "type", None),
                    timestamp=message.occurred_at,
                ),
                routing_key=message.routing_key,
                # A command nobody would receive is an error; an event nobody listens to is not.
                mandatory=is_command,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )

    async def consume(
        self, queue_name: str, handler: Handler, *, prefetch: int = 1
    ) -> Subscription:
        """Start delivering messages of a queue to handler on a channel of its own."""
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(queue_name, ensure=True)
        tag = await queue.consume(handler, no_ack=False)
        return Subscription(channel, queue_name, tag)

    async def watch_events(self, handler: Handler) -> Subscription:
        """This process's own queue of every job event (exclusive, deleted with the connection):
        live updates, acked on receipt; a restarted process starts afresh."""
        channel = await self._connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(self.topology.events, routing_key=EVERY_JOB_EVENT)
        tag = await queue.consume(handler, no_ack=True)
        return Subscription(channel, queue.name, tag)

    async def check(self) -> None:
        """Raise if the connection is down right now (for readiness)."""
        if self._connection.is_closed:
            raise ConnectionError("broker connection is down")

    async def close(self) -> None:
        """Close the connection and every channel on it."""
        await self._connection.close()


@dataclass
class Subscription:
    """A running consumer that can be stopped before the connection closes."""

    channel: AbstractChannel
    queue_name: str
    tag: str

    async def cancel(self) -> None:
        """Stop receiving new deliveries; the one being handled may still be acked. Bounded: a
        broker that does not answer (or a connection being re-established) never holds a
        shutdown; raises TimeoutError then."""
        async with asyncio.timeout(SHUTDOWN_STEP_SECONDS):
            queue = await self.channel.get_queue(self.queue_name, ensure=False)
            await queue.cancel(self.tag)

    async def close(self) -> None:
        """Close the channel; deliveries not acked by now return to the queue (bounded too:
        a channel the broker never confirms closed is dropped with its connection)."""
        try:
            async with asyncio.timeout(SHUTDOWN_STEP_SECONDS):
                await self.channel.close()
        except TimeoutError:
            log.warning("channel of %s not closed in time; left to the connection", self.queue_name)

    async def stop(self) -> None:
        """Cancel (if the connection still allows it), then close."""
        with suppress(Exception):
            await self.cancel()
        await self.close()


def _span_attributes(
    operation: str, destination: str, routing_key: str | None, message: Message | None = None
) -> dict[str, str]:
    """OpenTelemetry's messaging attributes of a publish or a delivery."""
    attributes = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": operation,
        "messaging.destination.name": destination,
        "messaging.rabbitmq.destination.routing_key": routing_key or "",
    }
    if message is not None:
        attributes["messaging.message.id"] = message.message_id
        attributes["messaging.message.conversation_id"] = message.job_id
    return attributes


def delivery_count(message: AbstractIncomingMessage) -> int:
    """How many times the broker delivered this message before (quorum queues count it)."""
    value = (message.headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) else 0


async def delete_topology(url: str, topology: Topology) -> None:
    """Delete every queue and exchange of a topology (tests, benchmarks, decommissioning)."""
    connection = await aio_pika.connect(url)
    async with connection:
        for queue in topology.all_queues():
            channel = await connection.channel()  # a failed delete closes its channel
            with suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(queue)
        for exchange in topology.all_exchanges():
            channel = await connection.channel()
            with suppress(aio_pika.exceptions.AMQPError):
                await channel.exchange_delete(exchange)


async def decode_or_reject(
    message: AbstractIncomingMessage, decode: Callable[[bytes], T]
) -> T | None:
    """The validated message, or None after rejecting it to the dead-letter queue (never retried)."""
    try:
        return decode(message.body)
    except ValidationError:
        log.error("malformed message %s (%s); dead-lettering it", message.message_id, message.type)
        await message.reject(requeue=False)
        return None


class MessageHandler(Generic[T]):
    """The one consumer policy: decode or dead-letter; ack when handled or permanently failed;
    requeue after a pause on anything else, so the queue's delivery limit dead-letters it."""

    def __init__(
        self,
        decode: Callable[[bytes], T],
        handle: Callable[[T], Awaitable[None]],
        *,
        permanent: tuple[type[Exception], ...] = (),
    ) -> None:
        self._decode = decode
        self._handle = handle
        self._permanent = permanent
        self._busy = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery and settle it, in a consumer span that continues the publisher's
        trace and a log scope that names the message's job and owner."""
        exchange = message.exchange or ""
        with (
            tracer().start_as_current_span(
                f"process {exchange}",
                context=extract(message.headers),
                kind=SpanKind.CONSUMER,
                attributes=_span_attributes("process", exchange, message.routing_key),
            ),
            log_scope(job_id=message.correlation_id),
        ):
            await self._handle_delivery(message)

    async def _handle_delivery(self, message: AbstractIncomingMessage) -> None:
        value = await decode_or_reject(message, self._decode)
        if value is None:
            return
        if isinstance(value, Message):
            bind(job_id=value.job_id, user_id=value.owner_id)
        self._busy += 1
        self.idle.clear()
        try:
            await self._settle(message, value)
        finally:
            self._busy -= 1
            if not self._busy:
                self.idle.set()

    async def _settle(self, message: AbstractIncomingMessage, value: T) -> None:
        try:
            await self._handle(value)
        except self._permanent:
            log.exception("message %s failed for good; dropping it", message.message_id)
        except Exception:
            log.exception(
                "message %s hit a transient error (delivery %d); requeueing in %.0f s",
                message.message_id,
                delivery_count(message) + 1,
                RETRY_PAUSE_SECONDS,
            )
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            await message.nack(requeue=True)
            return
        await message.ack()
