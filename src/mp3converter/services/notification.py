"""The notification role: emails the owner when a job succeeds or fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aio_pika.abc import AbstractIncomingMessage
from fastapi import FastAPI
from prometheus_client import Counter

from mp3converter.adapters import mongo
from mp3converter.adapters.mailer import Mailer, build_mailer
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, Topology, decode_or_reject
from mp3converter.config import Settings
from mp3converter.contracts import JOB_EVENT, JobFailed, JobSucceeded, utcnow
from mp3converter.services.emails import job_email
from mp3converter.web.ops import ops_router, store_and_broker_checks
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "notification"
DEFAULT_PORT = 8084
RETRY_PAUSE_SECONDS = 2.0
SENT = Counter("mp3converter_notifications_total", "Notifications handled", ["kind", "result"])


class Notifier:
    """Sends one email per job outcome; a redelivered event is recognised and not sent twice."""

    def __init__(self, db: Database, mailer: Mailer, settings: Settings) -> None:
        self._sent = db.notifications
        self._mailer = mailer
        self._settings = settings

    async def on_event(self, message: AbstractIncomingMessage) -> None:
        """Email, then ack; requeue when the mail server fails (dead-lettered past the limit)."""
        event = await decode_or_reject(message, JOB_EVENT.validate_json)
        if event is None:
            return
        if not isinstance(event, JobSucceeded | JobFailed):
            await message.ack()
            return
        try:
            await self.notify(event)
        except Exception:
            SENT.labels(event.type, "error").inc()
            log.exception("notification for job %s failed; will retry", event.job_id)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            await message.nack(requeue=True)
        else:
            await message.ack()

    async def notify(self, event: JobSucceeded | JobFailed) -> None:
        """Send the email unless this event was already notified."""
        if await self._sent.find_one({"_id": event.message_id}) is not None:
            SENT.labels(event.type, "duplicate").inc()
            return
        email = job_email(
            event, sender=self._settings.smtp_from, base_url=self._settings.public_base_url
        )
        await self._mailer.send(email)
        await self._sent.insert_one(
            {
                "_id": event.message_id,
                "job_id": event.job_id,
                "to": event.owner_email,
                "sent_at": utcnow(),
            }
        )
        SENT.labels(event.type, "sent").inc()


def create_app(settings: Settings) -> FastAPI:
    """Build the notification worker; HTTP serves health and metrics."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_url)
        db = client[settings.mongodb_db]
        app.state.db = db
        broker = await Broker.connect(
            settings.amqp_url.get_secret_value(),
            Topology(settings.broker_prefix, settings.delivery_limit),
            ROLE,
        )
        app.state.broker = broker
        notifier = Notifier(db, build_mailer(settings), settings)
        consumer = await broker.consume(broker.topology.notification, notifier.on_event)
        try:
            yield
        finally:
            with suppress(Exception):
                await consumer.cancel()
            await consumer.close()
            await broker.close()
            await client.close()

    app = FastAPI(title="mp3converter notification", lifespan=lifespan)

    app.include_router(ops_router(ROLE, lambda: store_and_broker_checks(app)))
    return finish_app(app, ROLE)
