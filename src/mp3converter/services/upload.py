"""The upload role: streams videos into GridFS, records jobs, publishes commands, serves MP3s."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response, status
from prometheus_client import Counter

from mp3converter.adapters import mongo
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.rabbitmq import Broker, Topology
from mp3converter.adapters.token_verifier import JwksKeys, TokenVerifier
from mp3converter.config import Settings
from mp3converter.contracts import ConvertVideo, JobQueued, utcnow
from mp3converter.domain.filenames import clean_filename
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.services.job_routes import job_router
from mp3converter.services.job_views import JobAccepted
from mp3converter.web.bearer import CurrentPrincipal
from mp3converter.web.multipart_stream import (
    ENVELOPE_BYTES,
    FileTooLarge,
    MissingFileField,
    MultipartError,
    NotMultipart,
    capped,
    open_file_field,
)
from mp3converter.web.ops import ops_router, store_and_broker_checks
from mp3converter.web.problems import Problem
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "upload"
DEFAULT_PORT = 8082
UPLOADED_BYTES = Counter("mp3converter_uploaded_bytes_total", "Video bytes stored")
JOBS_CREATED = Counter("mp3converter_jobs_created_total", "Jobs accepted and queued")


def _too_large(limit: int) -> Problem:
    return Problem(
        413, "upload-too-large", f"the file exceeds the limit of {limit} bytes", max_bytes=limit
    )


def create_app(settings: Settings) -> FastAPI:
    """Build the upload app; MongoDB, RabbitMQ and the JWKS client open in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_url)
        db = client[settings.mongodb_db]
        http = httpx.AsyncClient()
        app.state.db = db
        app.state.jobs = JobStore(db)
        app.state.videos = GridFSStore(db, "videos")
        app.state.mp3s = GridFSStore(db, "mp3s")
        app.state.verifier = TokenVerifier(
            JwksKeys(
                http, f"{settings.auth_url}/.well-known/jwks.json", settings.jwks_cache_seconds
            ),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        try:
            await mongo.ensure_indexes(db)
            topology = Topology(settings.broker_prefix, settings.delivery_limit)
            app.state.broker = await Broker.connect(
                settings.amqp_url.get_secret_value(), topology, ROLE
            )
            try:
                yield
            finally:
                await app.state.broker.close()
        finally:
            await http.aclose()
            await client.close()

    app = FastAPI(title="mp3converter upload", lifespan=lifespan)

    app.include_router(ops_router(ROLE, lambda: store_and_broker_checks(app)))

    @app.post("/upload", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
    async def upload(request: Request, response: Response, caller: CurrentPrincipal) -> JobAccepted:
        limit = settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
            raise _too_large(limit)  # headroom for the multipart envelope around the file
        job_id = uuid.uuid4().hex
        videos: GridFSStore = request.app.state.videos
        try:
            body = capped(request.stream(), limit + ENVELOPE_BYTES)
            part, data = await open_file_field(
                body, request.headers.get("content-type", ""), "file", limit
            )
            filename = clean_filename(part.filename)
            stored = await videos.save(
                data,
                filename=filename,
                metadata={
                    "owner_id": caller.user_id,
                    "job_id": job_id,
                    "content_type": part.content_type,
                    "filename": filename,
                },
            )
        except NotMultipart as exc:
            raise Problem(415, "not-multipart", str(exc)) from exc
        except MissingFileField as exc:
            raise Problem(422, "missing-file", "the form has no file field named 'file'") from exc
        except FileTooLarge as exc:
            raise _too_large(limit) from exc
        except MultipartError as exc:
            raise Problem(400, "malformed-multipart", str(exc)) from exc
        if stored.size == 0:
            await videos.delete(stored.file_id)
            raise Problem(422, "empty-file", "the uploaded file is empty")
        UPLOADED_BYTES.inc(stored.size)
        now = utcnow()
        job = Job(
            job_id=job_id,
            owner_id=caller.user_id,
            owner_email=caller.email,
            filename=filename,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            video_file_id=stored.file_id,
            video_size_bytes=stored.size,
        )
        jobs: JobStore = request.app.state.jobs
        broker: Broker = request.app.state.broker
        try:
            await jobs.add(job)
            await broker.publish(
                ConvertVideo(job_id=job_id, owner_id=caller.user_id, video_file_id=stored.file_id)
            )
        except Exception as exc:
            # Undo, so no job waits forever for a command that was never queued.
            log.exception("could not queue job %s; removing its job and video", job_id)
            await jobs.delete(job_id)
            await videos.delete(stored.file_id)
            raise Problem(
                503,
                "queue-unavailable",
                "the job could not be queued; retry later",
                headers={"Retry-After": "5"},
            ) from exc
        JOBS_CREATED.inc()
        try:
            await broker.publish(
                JobQueued(job_id=job_id, owner_id=caller.user_id, filename=filename)
            )
        except Exception:
            log.warning("JobQueued event for %s not published", job_id, exc_info=True)
        response.headers["Location"] = f"/jobs/{job_id}"
        return JobAccepted(job_id=job_id, status=JobStatus.QUEUED)

    app.include_router(job_router)
    return finish_app(app, ROLE)
