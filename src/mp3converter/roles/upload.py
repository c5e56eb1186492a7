"""The upload role: streams videos into GridFS, records and queues jobs, serves jobs and MP3s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from mp3converter import bootstrap
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.upload_keys import UploadKeys
from mp3converter.api.deps import RoleState
from mp3converter.api.routes import downloads, events, jobs, uploads
from mp3converter.config import Settings
from mp3converter.usecases.live import LiveJobs
from mp3converter.usecases.retention import Sweeper, sweep_forever
from mp3converter.usecases.uploads import Uploads
from mp3converter.web.server import finish_app

ROLE = "upload"


@asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[RoleState]:
    """MongoDB, RabbitMQ, the JWKS client, live job events and the retention sweeper."""
    async with AsyncExitStack() as stack:
        db, broker = await stack.enter_async_context(bootstrap.database_and_broker(settings, ROLE))
        http = await stack.enter_async_context(httpx.AsyncClient())
        revoked = await stack.enter_async_context(bootstrap.revocation_list(http, settings))
        job_store, videos = JobStore(db), GridFSStore(db, "videos")
        live = LiveJobs()
        watching = await broker.watch_events(live.on_message)
        stack.push_async_callback(watching.stop)
        sweeping = sweep_forever(Sweeper.on(db, settings), settings.sweep_interval_seconds)
        await stack.enter_async_context(bootstrap.in_background(sweeping))
        yield RoleState(
            role=ROLE,
            settings=settings,
            checks=bootstrap.store_and_broker_checks(db, broker),
            verifier=bootstrap.jwks_verifier(http, settings, revoked),
            revocation_list=revoked,
            links=bootstrap.download_links(settings),
            jobs=job_store,
            videos=videos,
            mp3s=GridFSStore(db, "mp3s"),
            uploads=Uploads(job_store, videos, broker, settings.quota),
            live=live,
            upload_keys=UploadKeys(db),
        )


def create_app(settings: Settings) -> FastAPI:
    """The upload role's app."""
    app = FastAPI(title="mp3converter upload", lifespan=partial(lifespan, settings))
    for module in (uploads, jobs, events, downloads):
        app.include_router(module.router)
    return finish_app(app, ROLE)
