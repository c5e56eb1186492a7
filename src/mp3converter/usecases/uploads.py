"""Accepting an upload: quotas around storing the video, then recording and queueing its job."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter

from mp3converter.adapters.gridfs_store import GridFSStore, file_metadata
from mp3converter.adapters.gridfs_writer import GridFSWriter
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.rabbitmq import Broker
from mp3converter.contracts import ConvertVideo, JobQueued, utcnow
from mp3converter.domain.conversion_options import DEFAULT_OPTIONS, ConversionOptions
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.domain.quotas import Quota, QuotaExceeded
from mp3converter.domain.streamable import HEAD_BYTES, reads_front_to_back
from mp3converter.log_context import bind

log = logging.getLogger(__name__)
UPLOADED_BYTES = Counter("mp3converter_uploaded_bytes_total", "Video bytes stored")
JOBS_CREATED = Counter("mp3converter_jobs_created_total", "Jobs accepted and queued")


class QuotaRefused(Exception):
    """The upload would take its owner past a quota; nothing of it is kept."""

    def __init__(self, exceeded: QuotaExceeded) -> None:
        super().__init__(exceeded.detail)
        self.exceeded = exceeded


class QueueUnavailable(Exception):
    """The job could not be recorded or its command queued; nothing of it is kept."""


class EmptyUpload(ValueError):
    """The uploaded file has no bytes."""


@dataclass(frozen=True)
class Upload:
    """Who uploads what: the owner, the new job's id and the file as the client named it."""

    owner_id: str
    owner_email: str
    job_id: str
    filename: str
    content_type: str
    options: ConversionOptions = DEFAULT_OPTIONS


@dataclass
class Uploads:
    """The upload use case, on the stores and broker of the upload role."""

    jobs: JobStore
    videos: GridFSStore
    broker: Broker
    quota: Quota

    async def room_for(self, owner_id: str, smallest_file: int) -> int:
        """Bytes the owner may still store; QuotaRefused if even `smallest_file` cannot fit."""
        usage = await self.jobs.usage(owner_id)
        exceeded = self.quota.exceeded(usage.plus(jobs=1, stored_bytes=smallest_file))
        if exceeded is not None:
            raise QuotaRefused(exceeded)
        return self.quota.room(usage)

    async def accept(
        self,
        upload: Upload,
        chunks: AsyncIterable[bytes],
        final_options: Callable[[], ConversionOptions] | None = None,
    ) -> Job:
        """Store the video and queue its job; undo everything if any step fails.

        A video that reads front to back is queued as soon as its head is stored, so the
        converter starts while the rest still arrives; others are queued once complete.
        `upload.options` are those known when the file began; `final_options` tells them once
        the body has ended (fields may follow the file). If they differ, the early job is
        dropped (its converter stops as the upload closes) and the video queued under a new one.
        """
        writer = self.videos.writer()
        early: Job | None = None
        head = b""
        streamable = not upload.options.needs_whole_file
        try:
            async for chunk in chunks:
                await writer.write(chunk)
                if early is None and len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                    if len(head) >= HEAD_BYTES and streamable and reads_front_to_back(head):
                        early = await self._queue(upload, str(writer.file_id), 0, streaming=True)
            if writer.size == 0:
                raise EmptyUpload("the uploaded file is empty")
            options = upload.options if final_options is None else final_options()
            if options != upload.options:
                upload = replace(upload, options=options)
                if early is not None:  # its converter stops as the upload closes
                    await self.jobs.delete(early.job_id)
                    early = None
                    upload = replace(upload, job_id=uuid.uuid4().hex)
            await writer.close(upload.filename, self._metadata(upload))
        except BaseException:
            await asyncio.shield(self._abandon(writer, early))  # even if the request is cancelled
            raise
        UPLOADED_BYTES.inc(writer.size)
        if early is not None:
            await self.jobs.set_video_size(early.job_id, writer.size)
            job = early.model_copy(update={"video_size_bytes": writer.size})
        else:
            job = await self._queue(upload, str(writer.file_id), writer.size, streaming=False)
        JOBS_CREATED.inc()
        log.info("job %s accepted: %d bytes of video", job.job_id, writer.size)
        await self._announce(job)
        return job

    @staticmethod
    def _metadata(upload: Upload) -> dict[str, Any]:
        return file_metadata(
            owner_id=upload.owner_id,
            job_id=upload.job_id,
            filename=upload.filename,
            content_type=upload.content_type,
        )

    async def _abandon(self, writer: GridFSWriter, early: Job | None) -> None:
        # The job first: a converter reading the video while it arrives sees it gone and stops.
        if early is not None:
            await self.jobs.delete(early.job_id)
        await writer.abort()

    async def _queue(self, upload: Upload, file_id: str, size: int, *, streaming: bool) -> Job:
        """Record the job and publish its command, or undo both (QuotaRefused, QueueUnavailable)."""
        bind(job_id=upload.job_id)  # a changed job id (options after the file) is logged too
        now = utcnow()
        job = Job(
            job_id=upload.job_id,
            owner_id=upload.owner_id,
            owner_email=upload.owner_email,
            filename=upload.filename,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            video_file_id=file_id,
            video_size_bytes=size,
            options=upload.options,
        )
        try:
            await self.jobs.add(job)
            # Checked again once recorded: of two racing uploads, none slips past a limit.
            exceeded = self.quota.exceeded(await self.jobs.usage(upload.owner_id))
            if exceeded is not None:
                raise QuotaRefused(exceeded)
            command = ConvertVideo(
                job_id=job.job_id,
                owner_id=job.owner_id,
                video_file_id=file_id,
                streaming=streaming,
                options=upload.options,
            )
            await self.broker.publish(command)
        except QuotaRefused:
            await self._undo(job)
            raise
        except Exception as exc:
            log.exception("could not queue job %s; removing its job and video", job.job_id)
            await self._undo(job)
            raise QueueUnavailable(str(exc)) from exc
        return job

    async def _undo(self, job: Job) -> None:
        await self.jobs.delete(job.job_id)
        if job.video_size_bytes:  # a complete video; a partial one is aborted by its writer
            assert job.video_file_id is not None
            await self.videos.delete(job.video_file_id)

    async def _announce(self, job: Job) -> None:
        # For live updates of the owner's jobs; nobody waits for it, so a failure only logs.
        try:
            event = JobQueued(job_id=job.job_id, owner_id=job.owner_id, filename=job.filename)
            await self.broker.publish(event)
        except Exception:
            log.warning("JobQueued event for %s not published", job.job_id, exc_info=True)
