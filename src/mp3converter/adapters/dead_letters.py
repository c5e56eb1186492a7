"""Dead-letter queues read without losing anything: messages are held unacked on one channel
and only those acked (after a confirmed republish, or on purpose) leave the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from mp3converter.adapters.rabbitmq import CONNECT_TIMEOUT_SECONDS, PUBLISH_TIMEOUT_SECONDS

# Headers the broker adds when it dead-letters a message; a replayed copy starts without them,
# so its own delivery limit counts afresh and a second death is recorded as such.
DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")
# How many times an operator replayed this message (ours, kept across replays).
REPLAYS_HEADER = "x-mp3converter-replays"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message as the broker holds it, and why it died."""

    message: AbstractIncomingMessage
    queue: str
    reason: str
    deaths: int
    died_at: datetime | None
    replays: int

    @property
    def job_id(self) -> str:
        """The job the message is about (its correlation id)."""
        return self.message.correlation_id or ""

    @property
    def type(self) -> str:
        """The message's type (ConvertVideo, JobFailed, ...)."""
        return self.message.type or ""


def _death(headers: dict[str, Any]) -> tuple[str, int, datetime | None]:
    deaths = headers.get("x-death")
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    reason = first.get("reason") or headers.get("x-first-death-reason") or "unknown"
    count = first.get("count", 1)
    died_at = first.get("time")
    return (
        reason.decode() if isinstance(reason, bytes) else str(reason),
        int(count) if isinstance(count, int) else 1,
        died_at if isinstance(died_at, datetime) else None,
    )


def read_letter(message: AbstractIncomingMessage, queue: str) -> DeadLetter:
    """The death record of a message held from a dead-letter queue."""
    headers = dict(message.headers or {})
    reason, count, died_at = _death(headers)
    replays = headers.get(REPLAYS_HEADER, 0)
    return DeadLetter(
        message, queue, reason, count, died_at, replays if isinstance(replays, int) else 0
    )


def replay_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The original headers (trace context included) without the broker's death records."""
    headers = {
        key: value
        for key, value in (message.headers or {}).items()
        if not key.startswith(DEATH_HEADERS)
    }
    previous = headers.get(REPLAYS_HEADER, 0)
    headers[REPLAYS_HEADER] = (previous if isinstance(previous, int) else 0) + 1
    return headers


class HeldLetters:
    """Messages of one dead-letter queue held unacked: ack removes one, the rest go back."""

    def __init__(self, channel: AbstractChannel, letters: list[DeadLetter]) -> None:
        self._channel = channel
        self.letters = letters

    async def replay(self, letter: DeadLetter, queue: str) -> None:
        """Publish a copy to `queue` (default exchange, confirmed, mandatory), then drop this one."""
        original = letter.message
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                original.body,
                headers=replay_headers(original),
                content_type=original.content_type,
                content_encoding=original.content_encoding,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=original.message_id,
                correlation_id=original.correlation_id,
                type=original.type,
                timestamp=original.timestamp,
                app_id=original.app_id,
            ),
            routing_key=queue,
            mandatory=True,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        await original.ack()

    async def discard(self, letter: DeadLetter) -> None:
        """Remove the message from its queue for good."""
        await letter.message.ack()


@asynccontextmanager
async def held_letters(url: str, queue: str, limit: int) -> AsyncIterator[HeldLetters]:
    """At most `limit` messages of a dead-letter queue, oldest first, held for the block.

    Whatever is not acked in the block returns to the queue when the channel closes (a close,
    not a nack: nothing counts it as a failed delivery)."""
    connection = await aio_pika.connect(
        url, timeout=CONNECT_TIMEOUT_SECONDS, client_properties={"connection_name": "dead-letters"}
    )
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        source = await channel.get_queue(queue, ensure=True)
        letters: list[DeadLetter] = []
        while len(letters) < limit:
            message = await source.get(no_ack=False, fail=False)
            if message is None:
                break
            letters.append(read_letter(message, queue))
        try:
            yield HeldLetters(channel, letters)
        finally:
            await channel.close()
