"""The converter role: consumes ConvertVideo commands (manual ack, one per CPU at once) and their
dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from functools import partial

import anyio
from fastapi import FastAPI

from mp3converter import bootstrap
from mp3converter.adapters.cpus import usable_cpus
from mp3converter.adapters.ffmpeg import FfmpegTranscoder
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, MessageHandler
from mp3converter.adapters.scratch import remove_stale
from mp3converter.api.deps import RoleState
from mp3converter.config import Settings
from mp3converter.contracts import ConvertVideo
from mp3converter.usecases.convert_job import ConvertJob
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "converter"


def convert_job(settings: Settings, db: Database, broker: Broker) -> ConvertJob:
    """The conversion use case on this deployment's stores, broker and ffmpeg."""
    return ConvertJob(
        jobs=JobStore(db),
        videos=GridFSStore(db, "videos"),
        mp3s=GridFSStore(db, "mp3s"),
        broker=broker,
        ffmpeg=FfmpegTranscoder(
            settings.ffmpeg_bin,
            settings.ffprobe_bin,
            settings.mp3_vbr_quality,
            settings.duration_tolerance_seconds,
            settings.media_limits,
        ),
        work_dir=settings.work_dir,
        delete_source=settings.delete_source_after_success,
        retention=settings.retention,
        upload_stall_seconds=settings.upload_stall_seconds,
    )


@asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[RoleState]:
    """Consume commands and dead letters; on shutdown, finish the job in hand within the grace."""
    async with AsyncExitStack() as stack:
        db, broker = await stack.enter_async_context(bootstrap.database_and_broker(settings, ROLE))
        stale = await anyio.to_thread.run_sync(remove_stale, settings.work_dir)
        if stale:
            log.warning("removed %d scratch directories of a converter that died", len(stale))
        use_case = convert_job(settings, db, broker)
        decode = ConvertVideo.model_validate_json
        handlers = [MessageHandler(decode, use_case.run), MessageHandler(decode, use_case.give_up)]
        topology = broker.topology
        slots = settings.converter_concurrency or usable_cpus()
        log.info("converting up to %d jobs at once", slots)
        subscriptions = [
            # As many commands in hand as jobs run at once: ffmpeg keeps every slot busy.
            await broker.consume(topology.convert, handlers[0], prefetch=slots),
            await broker.consume(topology.convert_dead, handlers[1]),
        ]
        try:
            yield RoleState(
                role=ROLE, settings=settings, checks=bootstrap.store_and_broker_checks(db, broker)
            )
        finally:
            for subscription in subscriptions:
                with suppress(Exception):  # a broken connection redelivers what is in hand
                    await subscription.cancel()
            idle = asyncio.gather(*(handler.idle.wait() for handler in handlers))
            with suppress(TimeoutError):  # past the grace time the job is redelivered elsewhere
                await asyncio.wait_for(idle, settings.shutdown_grace_seconds)
            for subscription in subscriptions:
                await subscription.close()


def create_app(settings: Settings) -> FastAPI:
    """The converter's app: no public routes; health and metrics are on the ops listener."""
    app = FastAPI(title="mp3converter converter", lifespan=partial(lifespan, settings))
    return finish_app(app, ROLE)
