"""The notification worker on real RabbitMQ, the MongoDB wire server and an SMTP server."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage

from mp3converter.adapters import rabbitmq
from mp3converter.adapters.mailer import SmtpMailer
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, MessageHandler, Topology, delivery_count
from mp3converter.bootstrap import download_links
from mp3converter.config import Settings
from mp3converter.contracts import JOB_EVENT, JobFailed, JobQueued, JobSucceeded, utcnow
from mp3converter.devstack.secantus import free_port
from mp3converter.domain.failure_advice import advice_for
from mp3converter.domain.human_units import human_time
from mp3converter.usecases.emails import UnbuildableEmail
from mp3converter.usecases.notify import Notifier
from tests.mail_parts import alternatives, html_of, markup
from tests.services import AMQP_URL, Mailbox, queue_depth

PUBLIC_BASE_URL = "https://mp3converter.example"
WAIT_SECONDS = 30.0
# Long enough for a redelivery or a second mail to show up if one were coming.
SETTLE_SECONDS = 1.0


@dataclass
class Handled:
    """Every delivery the notifier finished handling, and any error that escaped it."""

    deliveries: list[tuple[str | None, str | None, int]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    async def wait_for(self, count: int) -> None:
        """Wait until `count` deliveries were handled."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if len(self.deliveries) >= count:
                    return
                await asyncio.sleep(0.05)


@asynccontextmanager
async def running_notifier(
    broker: Broker, db: Database, settings: Settings
) -> AsyncIterator[Handled]:
    """Consume the notification queue as the notification role does, with a real SmtpMailer."""
    notifier = Notifier(
        db, SmtpMailer(settings), sender=settings.smtp_from, links=download_links(settings)
    )
    # As the notification role wires it.
    on_event = MessageHandler(
        JOB_EVENT.validate_json, notifier.notify, permanent=(UnbuildableEmail,)
    )
    handled = Handled()

    async def handle(message: AbstractIncomingMessage) -> None:
        try:
            await on_event(message)
        except BaseException as exc:
            handled.errors.append(exc)
            raise
        finally:
            handled.deliveries.append((message.type, message.message_id, delivery_count(message)))

    consumer = await broker.consume(broker.topology.notification, handle)
    try:
        yield handled
    finally:
        await consumer.cancel()
        await consumer.close()


def smtp_settings(port: int) -> Settings:
    """Settings of a notification role that mails through 127.0.0.1:port."""
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="mp3converter <noreply@mp3converter.example>",
        smtp_timeout_seconds=5,
        public_base_url=PUBLIC_BASE_URL,
    )


@pytest.fixture
def settings(mailbox: tuple[Mailbox, int]) -> Settings:
    """Settings pointing at the test SMTP server."""
    return smtp_settings(mailbox[1])


def succeeded(email: str = "owner@example.com") -> JobSucceeded:
    """A JobSucceeded event of a new job."""
    return JobSucceeded(
        job_id=uuid.uuid4().hex,
        owner_id=uuid.uuid4().hex,
        owner_email=email,
        filename="holiday.mp4",
        duration_seconds=61.2,
        size_bytes=1_234_567,
    )


def body_of(message: EmailMessage) -> str:
    """The plain-text body of a received mail."""
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def mails_about(mailbox: Mailbox, job_id: str) -> list[EmailMessage]:
    """Received mails that mention the job."""
    return [m for m in mailbox.messages if job_id in body_of(m)]


async def test_success_mails_the_owner_a_download_link(
    broker: Broker, db: Database, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    event = succeeded("alice@example.com")

    async with running_notifier(broker, db, settings) as handled:
        await broker.publish(event)
        mail = await inbox.wait_for(lambda m: event.job_id in body_of(m), WAIT_SECONDS)
        await handled.wait_for(1)

    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Your MP3 is ready: holiday.mp4"
    assert f"{PUBLIC_BASE_URL}/download/{event.job_id}" in body_of(mail)
    assert inbox.envelopes == [("noreply@mp3converter.example", ["alice@example.com"])]
    # A text and an HTML part; the link written out in one, the button's href in the other.
    assert alternatives(mail) == ["text/plain", "text/html"]
    (link,) = re.findall(r"^https?://\S+", body_of(mail), re.MULTILINE)
    assert link.startswith(f"{PUBLIC_BASE_URL}/download/{event.job_id}?")
    assert (link, "Download the MP3") in markup(html_of(mail)).links
    # The email says until when the link works, and the link works until exactly then.
    expires = int(parse_qs(urlsplit(link).query)["e"][0])
    assert abs(expires - (time.time() + settings.download_link_ttl_seconds)) < WAIT_SECONDS
    until = human_time(datetime.fromtimestamp(expires, UTC))
    for part in (body_of(mail), html_of(mail)):
        for words in ("holiday.mp4", "1 min 1 s", "1.2 MB", event.job_id, f"until {until}"):
            assert words in part
    record = await db.notifications.find_one({"_id": event.message_id})
    assert record is not None
    assert (record["job_id"], record["to"]) == (event.job_id, "alice@example.com")
    assert handled.errors == []
    assert await queue_depth(broker.topology.notification) == 0


async def test_failure_mails_the_owner_the_reason(
    broker: Broker, db: Database, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    event = JobFailed(
        job_id=uuid.uuid4().hex,
        owner_id=uuid.uuid4().hex,
        owner_email="bob@example.com",
        filename="silent.mp4",
        code="no-audio",
        reason="the file has no audio stream",
    )

    async with running_notifier(broker, db, settings) as handled:
        await broker.publish(event)
        mail = await inbox.wait_for(lambda m: event.job_id in body_of(m), WAIT_SECONDS)
        await handled.wait_for(1)

    assert mail["To"] == "bob@example.com"
    assert mail["Subject"] == "Conversion failed: silent.mp4"
    assert "the file has no audio stream (no-audio)" in body_of(mail)
    assert "/download/" not in body_of(mail)
    assert alternatives(mail) == ["text/plain", "text/html"]
    assert advice_for("no-audio") in " ".join(body_of(mail).split())
    for words in ("silent.mp4", "the file has no audio stream", advice_for("no-audio")):
        assert words in html_of(mail)
    assert markup(html_of(mail)).links == []
    assert handled.errors == []


async def test_the_same_event_twice_sends_one_mail(
    broker: Broker, db: Database, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    event = succeeded()

    async with running_notifier(broker, db, settings) as handled:
        await broker.publish(event)
        # As the converter republishes an outcome: a new timestamp, the same message id.
        await broker.publish(event.model_copy(update={"occurred_at": utcnow()}))
        await handled.wait_for(2)
        await asyncio.sleep(SETTLE_SECONDS)

    assert [mid for _, mid, _ in handled.deliveries] == [event.message_id] * 2
    assert len(mails_about(inbox, event.job_id)) == 1
    assert await db.notifications.count_documents({}) == 1
    assert handled.errors == []
    assert await queue_depth(broker.topology.notification) == 0


async def test_mail_server_down_retries_then_dead_letters_without_crashing(
    broker: Broker, db: Database, topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shorter pause between attempts keeps the test quick; the retry path is unchanged.
    monkeypatch.setattr(rabbitmq, "RETRY_PAUSE_SECONDS", 0.2)
    closed_port = free_port()
    event = succeeded()

    async with running_notifier(broker, db, smtp_settings(closed_port)) as handled:
        await broker.publish(event)
        attempts = topology.delivery_limit + 1
        await handled.wait_for(attempts)
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if await queue_depth(topology.notification_dead) > 0:
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(SETTLE_SECONDS)

    assert handled.deliveries == [("JobSucceeded", event.message_id, n) for n in range(attempts)]
    assert handled.errors == []
    assert await db.notifications.count_documents({}) == 0
    assert await queue_depth(topology.notification) == 0
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        dead_queue = await channel.get_queue(topology.notification_dead, ensure=True)
        dead = await dead_queue.get(timeout=5)
        assert dead is not None
        await dead.ack()
    assert dead.message_id == event.message_id
    assert JobSucceeded.model_validate_json(dead.body) == event
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"


async def test_queued_events_do_not_reach_the_notifier(
    broker: Broker, db: Database, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    done = succeeded()
    queued = JobQueued(job_id=done.job_id, owner_id=done.owner_id, filename=done.filename)
    witnessed: list[str | None] = []

    async def witness(message: AbstractIncomingMessage) -> None:
        witnessed.append(message.type)

    # A queue on `job.#` (as a gateway's live updates) so JobQueued is routable at all.
    connection = await aio_pika.connect(AMQP_URL)
    async with connection, running_notifier(broker, db, settings) as handled:
        channel = await connection.channel()
        watcher = await channel.declare_queue(exclusive=True, auto_delete=True)
        await watcher.bind(broker.topology.events, routing_key="job.#")
        await watcher.consume(witness, no_ack=True)

        await broker.publish(queued)
        await broker.publish(done)
        await inbox.wait_for(lambda m: done.job_id in body_of(m), WAIT_SECONDS)
        await handled.wait_for(1)
        await asyncio.sleep(SETTLE_SECONDS)

    assert witnessed == ["JobQueued", "JobSucceeded"]
    # The queue is FIFO: had JobQueued been routed to the notifier, it would have come first.
    assert [kind for kind, _, _ in handled.deliveries] == ["JobSucceeded"]
    assert len(mails_about(inbox, done.job_id)) == 1
    assert await queue_depth(broker.topology.notification) == 0


async def test_a_name_with_a_line_separator_still_gets_its_email(
    broker: Broker, db: Database, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, _ = mailbox
    event = succeeded().model_copy(update={"filename": "talk\u2028part\u20292.mp4"})

    async with running_notifier(broker, db, settings) as handled:
        await broker.publish(event)
        mail = await inbox.wait_for(lambda m: event.job_id in body_of(m), WAIT_SECONDS)
        await handled.wait_for(1)
        await asyncio.sleep(SETTLE_SECONDS)

    assert mail["Subject"] == "Your MP3 is ready: talk part 2.mp4"
    assert 'Your video "talk part 2.mp4" was converted' in body_of(mail)
    assert "talk part 2.mp4" in html_of(mail)
    assert [count for _, _, count in handled.deliveries] == [0]  # sent at the first try
    assert handled.errors == []


async def test_an_email_that_cannot_be_built_is_dropped_once_not_retried(
    broker: Broker, db: Database, topology: Topology, settings: Settings
) -> None:
    event = succeeded("owner\u2028@example.com")

    async with running_notifier(broker, db, settings) as handled:
        await broker.publish(event)
        await handled.wait_for(1)
        await asyncio.sleep(SETTLE_SECONDS)

    assert handled.deliveries == [("JobSucceeded", event.message_id, 0)]
    assert handled.errors == []
    assert await queue_depth(topology.notification) == 0
    assert await queue_depth(topology.notification_dead) == 0
