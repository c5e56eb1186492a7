"""The converter role: consumes ConvertVideo commands (prefetch 1, manual ack) and dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aio_pika.abc import AbstractIncomingMessage
from fastapi import FastAPI
from pydantic import ValidationError

from mp3converter.adapters import mongo
from mp3converter.adapters.ffmpeg import FfmpegConverter
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.rabbitmq import Broker, Topology, decode_or_reject, delivery_count
from mp3converter.config import Settings
from mp3converter.contracts import ConvertVideo
from mp3converter.domain.jobs import FailureCode, JobError
from mp3converter.services.conversion import Conversion
from mp3converter.web.ops import ops_router, store_and_broker_checks
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "converter"
DEFAULT_PORT = 8083


class ConvertConsumer:
    """Turns deliveries into conversions and decides ack, requeue or dead-letter."""

    def __init__(self, conversion: Conversion) -> None:
        self.conversion = conversion
        self.idle = asyncio.Event()
        self.idle.set()

    async def on_command(self, message: AbstractIncomingMessage) -> None:
        """Ack after the outcome is stored; requeue on transient trouble; reject garbage."""
        command = await decode_or_reject(message, ConvertVideo.model_validate_json)
        if command is None:
            return
        self.idle.clear()
        try:
            await self.conversion.run(command)
        except Exception:
            log.exception(
                "job %s hit a transient error (delivery %d); requeueing",
                command.job_id,
                delivery_count(message) + 1,
            )
            await message.nack(requeue=True)
        else:
            await message.ack()
        finally:
            self.idle.set()

    async def on_dead(self, message: AbstractIncomingMessage) -> None:
        """A command that ran out of deliveries: its job fails, so no one waits forever."""
        try:
            command = ConvertVideo.model_validate_json(message.body)
        except ValidationError:
            log.error("dropping malformed dead-lettered message %s", message.message_id)
            await message.ack()
            return
        reason = "conversion kept failing on a temporary error; giving up after retries"
        try:
            await self.conversion.fail(
                command.job_id, JobError(code=FailureCode.RETRIES_EXHAUSTED, reason=reason)
            )
        except Exception:
            log.exception("could not fail job %s yet; will retry", command.job_id)
            await asyncio.sleep(1)
            await message.nack(requeue=True)
        else:
            await message.ack()


def create_app(settings: Settings) -> FastAPI:
    """Build the converter: consumers start in the lifespan; HTTP serves health and metrics."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_url)
        db = client[settings.mongodb_db]
        app.state.db = db
        await mongo.ensure_indexes(db)
        topology = Topology(settings.broker_prefix, settings.delivery_limit)
        broker = await Broker.connect(settings.amqp_url.get_secret_value(), topology, ROLE)
        app.state.broker = broker
        conversion = Conversion(
            jobs=JobStore(db),
            videos=GridFSStore(db, "videos"),
            mp3s=GridFSStore(db, "mp3s"),
            broker=broker,
            ffmpeg=FfmpegConverter(
                settings.ffmpeg_bin,
                settings.ffprobe_bin,
                settings.mp3_vbr_quality,
                settings.duration_tolerance_seconds,
            ),
            work_dir=settings.work_dir,
            delete_source=settings.delete_source_after_success,
            timeout_seconds=settings.conversion_timeout_seconds,
        )
        worker = ConvertConsumer(conversion)
        consumers = [
            await broker.consume(topology.convert, worker.on_command),
            await broker.consume(topology.convert_dead, worker.on_dead),
        ]
        try:
            yield
        finally:
            for consumer in consumers:
                await consumer.cancel()
            with suppress(TimeoutError):  # past the grace time the job is redelivered elsewhere
                await asyncio.wait_for(worker.idle.wait(), settings.shutdown_grace_seconds)
            for consumer in consumers:
                await consumer.close()
            await broker.close()
            await client.close()

    app = FastAPI(title="mp3converter converter", lifespan=lifespan)

    app.include_router(ops_router(ROLE, lambda: store_and_broker_checks(app)))
    return finish_app(app, ROLE)
